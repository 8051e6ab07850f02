/**
 * End to end for defender_endpoint_vulnerabilities: the built bundle as splunkd runs it, against
 * the simulator's vulnerability export and delta export.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseStream, runConfigXml, runInputProcess } from '../../tools/harness.js';
import { useStandIns } from '../helpers/standIns.js';

const SCHEME = 'defender_endpoint_vulnerabilities';
const s = useStandIns({ built: `${SCHEME}.js` });

test('a full export first, then only the changes (New, Fixed), each once; checkpoint only after a complete poll', async () => {
  const devices = s.graph.mde.devices;
  s.graph.grantRole(s.clientId, 'Vulnerability.Read.All');
  const machines = devices.addMachines(40);
  const initial = devices.addVulnerabilities(machines.slice(0, 30), 2);
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  const poll = async () => {
    const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, 'vuln', { account: 'prod', index: 'vm' }, cp));
    return { ...r, events: parseStream(r.stdout) };
  };
  s.graph.requests.length = 0;
  const first = await poll();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.events.length, initial.length);
  assert.ok(first.events.every((e) => e.sourcetype === 'ms:defender:endpoint:vulnerability' && e.index === 'vm'));
  assert.match(first.stderr, /Poll finished .*mode=full_snapshot/);
  assert.ok(s.graph.requests.some((r) => r.path === '/api/machines/SoftwareVulnerabilitiesByMachine'));

  // New software on ten devices, one vulnerability patched.
  const added = devices.addVulnerabilities(machines.slice(30), 1);
  devices.fixVulnerability(initial[0]!.id);
  const second = await poll();
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /Poll finished .*mode=delta/);
  const statuses = second.events.map((e) => JSON.parse(e.data) as { id: string; status: string });
  // The delta returns the whole 6-hour batch: the first export's New records are in it, and are
  // emitted again only if this input has not seen them as changes; here they were a snapshot.
  assert.ok(statuses.some((x) => x.id === initial[0]!.id && x.status === 'Fixed'));
  for (const v of added) assert.ok(statuses.some((x) => x.id === v.id && x.status === 'New'), v.id);
  const third = await poll();
  assert.equal(third.code, 0, third.stderr);
  assert.equal(third.events.length, 0, 'nothing twice');
  assert.match(third.stderr, /skipped_duplicates=\d+/);

  s.graph.revokeRole(s.clientId, 'Vulnerability.Read.All');
  const denied = await poll();
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /Grant the application permission Vulnerability\.Read\.All of the WindowsDefenderATP API/);
});
