/**
 * End to end: defender_device_action's built bundle, started through its launcher as splunkd's
 * sendmodalert does (--execute, JSON payload, results.csv.gz), against the simulator's machines and
 * machine actions API and the splunkd stand-in, with ES's audit log and result spool under SPLUNK_HOME.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { actionPayload, runActionProcess, writeResultsFile } from '../../tools/harness.js';
import type { Machine } from '../../tools/simulator/mdeDevices.js';
import { useStandIns } from '../helpers/standIns.js';

const ACTION = 'defender_device_action';
const ROLES = ['Machine.Read.All', 'Machine.Isolate', 'Machine.Scan', 'Machine.StopAndQuarantine'];
const s = useStandIns({ built: `${ACTION}.sh` });
let home: string;
afterEach(() => {
  s.graph.faults = [];
  for (const role of ROLES) s.graph.revokeRole(s.clientId, role);
});

function fleet(n: number): Machine[] {
  const devices = s.graph.mde.devices;
  devices.machines.clear();
  devices.actions.clear();
  devices.offlineMachines.clear();
  devices.failingMachines.clear();
  devices.actionTimings = { pendingMs: 200, runningMs: 200 };
  s.graph.mde.resetBudget();
  s.graph.requests.length = 0;
  for (const role of ROLES) s.graph.grantRole(s.clientId, role);
  home = mkdtempSync(path.join(s.workDir, 'splunk-'));
  mkdirSync(path.join(home, 'var', 'log', 'splunk'), { recursive: true });
  return devices.addMachines(n);
}

async function run(configuration: Record<string, string>, rows: Record<string, string | string[]>[], payloadExtra: Record<string, unknown> = {}) {
  const file = writeResultsFile(s.workDir, rows);
  const payload = JSON.parse(actionPayload(s, ACTION, { account: 'prod', requests_per_minute: '100', wait_seconds: '3', comment: 'Contained from notable $name$', ...configuration }, file)) as Record<string, unknown>;
  const r = await runActionProcess(ACTION, JSON.stringify({ ...payload, ...payloadExtra }), { env: { SPLUNK_HOME: home } });
  assert.ok(!r.stderr.includes(s.clientSecret) && !r.stderr.includes(s.sessionKey) && !r.stderr.includes('Canary~'), 'a secret leaked');
  assert.equal(r.stdout, '');
  return r;
}

const posts = (segment?: string) => s.graph.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/machines/') && (!segment || r.path.endsWith(`/${segment}`)));
const apiCalls = () => s.graph.requests.filter((r) => r.path.startsWith('/api/'));
const outcomes = (stderr: string, outcome: string) => stderr.split('\n').filter((l) => l.startsWith('INFO Device action') || l.startsWith('WARN Device action') || l.startsWith('ERROR Device action')).filter((l) => l.includes(` outcome=${outcome}`));
const summary = (stderr: string) => {
  const line = stderr.split('\n').find((l) => / finished: /.test(l));
  assert.ok(line, `no summary line in:\n${stderr}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
};
const auditLines = () => readFileSync(path.join(home, 'var', 'log', 'splunk', `${ACTION}_modalert.log`), 'utf8').trimEnd().split('\n');
function camEvents(): { header: string; body: Record<string, string> }[] {
  const dir = path.join(home, 'var', 'spool', 'splunk');
  const files = readdirSync(dir).filter((f) => f.endsWith('.stash_common_action_model'));
  return files.flatMap((f) => {
    const [first, ...rest] = readFileSync(path.join(dir, f), 'utf8').split('\n');
    assert.match(first!, /^\*\*\*SPLUNK\*\*\* index="cim_modactions" host="sh01" source="defender_device_action_modalert"$/);
    return rest.join('\n').trimEnd().split('\n==##~~##~~  1E8N3D4E6V5E7N2T9 ~~##~~##==\n').map((event) => {
      const [header, body] = event.split('\n');
      return { header: header!, body: JSON.parse(body!) as Record<string, string> };
    });
  });
}

describe('defender_device_action: isolate', () => {
  test('by machine id, DNS name and IP; followed to Succeeded; ES audit lines and results; a repeat sends nothing', async () => {
    const [a, b, c] = fleet(3);
    const rows: Record<string, string>[] = [
      { dest: a!.id, rid: '0', orig_sid: 'scheduler__nobody_U0EtQWNjZXNz__RMD5_1', orig_rid: '7' },
      { dest: b!.computerDnsName, rid: '1' },
      { dest: c!.lastIpAddress, rid: '2' },
    ];
    const first = await run({ action: 'isolate', isolation_type: 'Selective' }, rows);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(posts('isolate').length, 3);
    const sent = [...s.graph.mde.devices.actions.values()];
    assert.deepEqual(sent.map((x) => x.scope), ['Selective', 'Selective', 'Selective']);
    assert.deepEqual(sent.map((x) => x.requestorComment), Array(3).fill('Contained from notable $name$'));
    assert.equal(outcomes(first.stderr, 'succeeded').length, 3, first.stderr);
    assert.equal(summary(first.stderr).succeeded, '3');
    const audit = auditLines();
    assert.equal(audit.length, 3);
    assert.match(audit[0]!, /INFO pid=\d+ .*\| sendmodaction - worker="sh01" signature="Isolation succeeded \(machine action [0-9a-f-]+\)" action_name="defender_device_action" search_name="Defender triage" sid="scheduler__admin__search__RMD5_at_1700000000_1" orig_sid="scheduler__nobody_U0EtQWNjZXNz__RMD5_1" rid="0" orig_rid="7" app="search" user="admin" action_mode="saved" action_status="success"/);
    const results = camEvents();
    assert.equal(results.length, 3);
    assert.match(results[0]!.header, /^\*\*\*Common Action Model\*\*\* orig_action_name="defender_device_action" orig_sid="scheduler__nobody_U0EtQWNjZXNz__RMD5_1" orig_rid="7" sourcetype="ms:defender:action:result"$/);
    assert.equal(results[0]!.body.outcome, 'succeeded');
    assert.equal(results[0]!.body.machine_id, a!.id);
    assert.equal(results[1]!.body.dest, b!.computerDnsName);
    // The add-on's own log has the same outcome lines.
    assert.match(readFileSync(path.join(home, 'var', 'log', 'splunk', 'ta_defender_xdr.log'), 'utf8'), /Device action succeeded: .*outcome=succeeded/);

    s.graph.requests.length = 0;
    const again = await run({ action: 'isolate', isolation_type: 'Selective' }, rows);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(posts().length, 0, 'nothing sent: the latest isolate succeeded');
    assert.equal(outcomes(again.stderr, 'already_done').length, 3);
  });

  test('a pending isolate is reported, never sent twice; a release waits until it has ended', async () => {
    const [a] = fleet(1);
    s.graph.mde.devices.offlineMachines.add(a!.id);
    const first = await run({ action: 'isolate', wait_seconds: '1' }, [{ dest: a!.computerDnsName }]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(outcomes(first.stderr, 'pending').length, 1, first.stderr);
    assert.match(first.stderr, /still Pending after 1 s/);
    const second = await run({ action: 'isolate' }, [{ dest: a!.computerDnsName }, { dest: a!.id }]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(posts('isolate').length, 1, 'one isolate in all');
    assert.equal(outcomes(second.stderr, 'already_pending').length, 2, second.stderr);
    const release = await run({ action: 'release' }, [{ dest: a!.id }]);
    assert.equal(release.code, 1);
    assert.match(release.stderr, /WARN Device action conflict: a Isolate action is still Pending .*not sent/);
    assert.equal(posts('unisolate').length, 0);
    // Once the isolation has gone through, the release is sent.
    s.graph.mde.devices.offlineMachines.clear();
    const later = await run({ action: 'release' }, [{ dest: a!.id }]);
    assert.equal(later.code, 0, later.stderr);
    assert.equal(posts('unisolate').length, 1);
  });
});

describe('defender_device_action: devices it cannot act on', () => {
  test('an ambiguous name is refused listing the candidates; an unknown device is not found; the others go ahead', async () => {
    const [a, b, c] = fleet(3);
    s.graph.mde.devices.machines.get(b!.id)!.computerDnsName = a!.computerDnsName;
    const r = await run({ action: 'av_scan', scan_type: 'Full' }, [{ dest: a!.computerDnsName }, { dest: 'nosuch.contoso.com' }, { dest: c!.id }, { dest: 'not a host!' }]);
    assert.equal(r.code, 1);
    const ambiguous = r.stderr.split('\n').find((l) => l.startsWith('WARN Device action ambiguous:'));
    assert.ok(ambiguous?.startsWith(`WARN Device action ambiguous: 2 Defender machines match name ${a!.computerDnsName}: `), r.stderr);
    assert.ok(ambiguous!.includes(`${a!.id} (${a!.computerDnsName}, last seen `) && ambiguous!.includes(`${b!.id} (`), 'both candidates listed');
    assert.match(r.stderr, /WARN Device action not_found: no Defender machine with DNS name nosuch\.contoso\.com/);
    assert.match(r.stderr, /ERROR Device action invalid: "not a host!" in dest is not a machine id, a host name or an IP address/);
    assert.equal(posts('runAntiVirusScan').length, 1, 'only the unambiguous known device');
    assert.equal([...s.graph.mde.devices.actions.values()][0]!.scope, 'Full');
    const audit = auditLines();
    assert.equal(audit.filter((l) => l.includes('action_status="failure"')).length, 3);
  });

  test('a short (NetBIOS) name finds the one machine whose DNS name starts with it; several are refused, a longer name is not a match', async () => {
    const [a, b, c, d] = fleet(4);
    const set = (m: Machine, name: string) => (s.graph.mde.devices.machines.get(m.id)!.computerDnsName = name);
    set(a!, 'ws-0042.contoso.com');
    set(b!, 'ws-00421.contoso.com'); // starts with ws-0042 too, but its first label is another name
    set(c!, 'kiosk7.corp.contoso.com');
    set(d!, 'kiosk7.branch.contoso.com');
    const r = await run({ action: 'av_scan' }, [{ dest: 'WS-0042' }, { dest: 'kiosk7' }, { dest: 'ws-004' }]);
    assert.equal(r.code, 1, r.stderr);
    const scans = posts('runAntiVirusScan');
    assert.deepEqual(scans.map((p) => p.path), [`/api/machines/${a!.id}/runAntiVirusScan`], 'WS-0042 is ws-0042.contoso.com, and nothing else was scanned');
    const ambiguous = r.stderr.split('\n').find((l) => l.startsWith('WARN Device action ambiguous:'));
    assert.ok(ambiguous?.startsWith('WARN Device action ambiguous: 2 Defender machines match name kiosk7: '), r.stderr);
    assert.ok(ambiguous!.includes(`${c!.id} (kiosk7.corp.contoso.com`) && ambiguous!.includes(`${d!.id} (kiosk7.branch.contoso.com`));
    assert.match(r.stderr, /WARN Device action not_found: no Defender machine with DNS name ws-004 or a DNS name starting with ws-004\./);
    const lookups = s.graph.requests.filter((q) => q.method === 'GET' && q.path === '/api/machines').map((q) => q.query.get('$filter') ?? '');
    assert.ok(lookups.includes("startswith(computerDnsName,'ws-0042.')"), lookups.join('\n'));
  });

  test('without the action permission: named, the run stops after the first refusal', async () => {
    const machines = fleet(3);
    s.graph.revokeRole(s.clientId, 'Machine.Isolate');
    const r = await run({ action: 'isolate' }, machines.map((m) => ({ dest: m.id })));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR Device action forbidden: isolate: The Defender for Endpoint API denied access \(403.*Grant the application permission Machine\.Isolate of the WindowsDefenderATP API/);
    assert.equal(posts('isolate').length, 1);
    assert.equal(summary(r.stderr).skipped, '2');
  });

  test('throttled beyond the retries: reported, the limiter backs off, other devices still acted on', async () => {
    const [a, b] = fleet(2);
    s.graph.faults.push({ match: new RegExp(`${a!.id}/collectInvestigationPackage`), fault: { kind: 'status', status: 429, retryAfter: '0' }, times: 4 });
    s.graph.grantRole(s.clientId, 'Machine.CollectForensics');
    const r = await run({ action: 'collect_package', wait_seconds: '0' }, [{ dest: a!.id }, { dest: b!.id }]);
    s.graph.revokeRole(s.clientId, 'Machine.CollectForensics');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /WARN Device action throttled: still throttled after retries/);
    assert.equal(outcomes(r.stderr, 'pending').length, 1);
  });
});

describe('defender_device_action: a Retry-After longer than the run can wait', () => {
  test('no wait, no early retry; what was not sent is reported throttled in the ES results and the log; a later run sends each once', async () => {
    const [a, b, c, d] = fleet(4);
    s.graph.faults.push({ match: new RegExp(`/api/machines/${b!.id}/isolate`), fault: { kind: 'status', status: 429, retryAfter: '600' }, times: 5 });
    const rows = [a, b, c, d].map((m, i) => ({ dest: m!.id, rid: String(i), orig_sid: 'notable_sid', orig_rid: String(10 + i) }));
    const r = await run({ action: 'isolate', wait_seconds: '30' }, rows);
    assert.equal(r.code, 1);
    const postsTo = (m: Machine) => posts('isolate').filter((x) => x.path.includes(m.id));
    assert.equal(postsTo(a!).length, 1);
    assert.equal(postsTo(b!).length, 1, 'the 429 is not retried before the 600 s Defender asked for');
    assert.equal(s.graph.requests.filter((x) => x.path.includes(c!.id) || x.path.includes(d!.id) || x.query.toString().includes(c!.id) || x.query.toString().includes(d!.id)).length, 0, 'nothing sent for the devices after it');
    assert.equal(s.graph.requests.filter((x) => x.path.startsWith('/api/machineactions/')).length, 0, 'the started isolation is not followed while throttled');
    assert.ok(Number(summary(r.stderr).duration_ms) < 60_000, 'neither the Retry-After nor the retry cap was waited for');
    assert.match(r.stderr, new RegExp(`WARN Device action throttled: not done: Defender throttled the app at the isolate step and asked to wait 600 s .*device=${b!.id}`));
    assert.equal(r.stderr.match(/WARN Device action throttled: not sent: Defender throttled the app until \S+ \(Retry-After\), past this run's time budget/g)?.length, 2, r.stderr);
    assert.match(r.stderr, /Device action pending: Isolation requested \(machine action \S+, Pending\); not followed: Defender throttled the app/);
    const results = new Map(camEvents().map((e) => [e.body.machine_id ?? e.body.device, e.body]));
    assert.equal(results.size, 4, 'one result per result');
    for (const m of [b, c, d]) {
      assert.equal(results.get(m!.id)?.outcome, 'throttled', m!.id);
      assert.equal(results.get(m!.id)?.action_status, 'failure');
    }
    assert.equal(results.get(a!.id)?.outcome, 'pending');
    const audit = auditLines();
    assert.equal(audit.filter((l) => /action_status="failure"/.test(l) && /outcome="throttled"|signature="not (sent|done)/.test(l)).length, 3, audit.join('\n'));

    // Later, once Defender takes calls again: each device gets its isolation once, none twice.
    s.graph.faults = [];
    const again = await run({ action: 'isolate', wait_seconds: '3' }, rows);
    assert.equal(again.code, 0, again.stderr);
    for (const m of [a, b, c, d]) {
      assert.equal([...s.graph.mde.devices.actions.values()].filter((x) => x.machineId === m!.id && x.type === 'Isolate').length, 1, m!.id);
    }
    assert.equal(postsTo(a!).length, 1, 'the first run\'s isolation is not sent again');
    assert.equal(postsTo(b!).length, 2, 'one refused (429: nothing created), one created');
  });
});

describe('defender_device_action: the app\'s call budget used up by the alerts input', () => {
  test('nothing is sent and nothing waits: every device reported throttled, not sent, with when to run again', async () => {
    const [a, b] = fleet(2);
    // The defender_endpoint_alerts input's call ledger on this host: 1,500 calls in the last 10 minutes.
    const dir = path.join(home, 'var', 'lib', 'splunk', 'modinputs', 'defender_endpoint_alerts');
    mkdirSync(dir, { recursive: true });
    const key = createHash('sha256').update(`${s.tenantId.toLowerCase()}|${s.clientId.toLowerCase()}|mde`).digest('hex').slice(0, 16);
    const now = Date.now();
    writeFileSync(path.join(dir, `mde-calls-${key}.log`), `${Array.from({ length: 1500 }, (_, i) => now - 600_000 + i * 400).join('\n')}\n`);
    const r = await run({ action: 'isolate' }, [{ dest: a!.id, rid: '0' }, { dest: b!.computerDnsName, rid: '1' }]);
    assert.equal(r.code, 1);
    assert.equal(apiCalls().length, 0, 'no call to Defender');
    assert.ok(Number(summary(r.stderr).duration_ms) < 60_000, 'the 50 minutes until the budget frees are not waited for');
    assert.match(r.stderr, /WARN Device action throttled: not sent: the app's Defender for Endpoint call budget \(100 a minute, 1,500 an hour, shared with the defender_endpoint_alerts input\) has no room until \S+, past this run's time budget/);
    assert.equal(r.stderr.match(/WARN Device action throttled: not sent/g)?.length, 2, r.stderr);
    assert.deepEqual(camEvents().map((e) => [e.body.outcome, e.body.action_status]), [['throttled', 'failure'], ['throttled', 'failure']]);
  });
});

describe('defender_device_action: refused before any call', () => {
  test('unknown action, missing comment, a value that is not a SHA-1', async () => {
    const [a] = fleet(1);
    const cases: [Record<string, string>, Record<string, string>[], RegExp][] = [
      [{ action: 'wipe' }, [{ dest: a!.id }], /action: "wipe" is not one of isolate, release, av_scan, collect_package, restrict_apps, unrestrict_apps, stop_quarantine_file/],
      [{ action: 'isolate', comment: '' }, [{ dest: a!.id }], /comment: required/],
      [{ action: 'isolate', isolation_type: 'Partial' }, [{ dest: a!.id }], /isolation_type: "Partial" is not Full or Selective/],
    ];
    for (const [config, rows, expected] of cases) {
      s.graph.requests.length = 0;
      const r = await run(config, rows);
      assert.equal(r.code, 1);
      assert.match(r.stderr, expected);
      assert.match(r.stderr, /nothing was sent to Defender/);
      assert.equal(apiCalls().length, 0, JSON.stringify(config));
    }
    s.graph.requests.length = 0;
    const notSha1 = await run({ action: 'stop_quarantine_file', sha1_field: 'file_hash' }, [{ dest: a!.id, file_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }]);
    assert.equal(notSha1.code, 1);
    assert.match(notSha1.stderr, /in file_hash is not a SHA-1 \(40 hex digits\)/);
    assert.equal(posts().length, 0);
    const ok = await run({ action: 'stop_quarantine_file' }, [{ dest: a!.id, file_hash: 'A94A8FE5CCB19BA61C4C0873D391E987982FBBD3' }]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal([...s.graph.mde.devices.actions.values()][0]!.relatedFileInfo?.fileIdentifier, 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3');
  });
});

describe('defender_device_action: many results, ad hoc from Incident Review', () => {
  test('300 results naming 12 devices: each device once, capped at max_devices, every result answered', async () => {
    const machines = fleet(12);
    const rows = Array.from({ length: 300 }, (_, i) => ({ dest: machines[i % 12]!.id, orig_sid: 'notable_sid', orig_rid: String(i) }));
    const adhoc = { sid: '1700000000.42', search_name: '' };
    const r = await run({ action: 'isolate', max_devices: '10', wait_seconds: '0' }, rows, adhoc);
    assert.equal(posts('isolate').length, 10);
    assert.equal(outcomes(r.stderr, 'skipped_cap').length, 2);
    assert.equal(r.code, 0, r.stderr);
    const audit = auditLines();
    assert.equal(audit.length, 300, 'one audit line per result');
    assert.ok(audit.every((l) => l.includes('action_mode="adhoc"')));
    assert.equal(camEvents().length, 300);
    const calls = apiCalls();
    assert.ok(calls.length <= 10 * 3, `at most three calls per device, got ${calls.length}`);
  });
});

describe('defender_device_action: cancel', () => {
  const cancels = () => s.graph.requests.filter((r) => r.method === 'POST' && /^\/api\/machineactions\/[^/]+\/cancel$/.test(r.path));

  test('a pending action named by an earlier result is Cancelled; a repeat sends nothing; a finished one is reported, not sent', async () => {
    const [a, b] = fleet(2);
    s.graph.mde.devices.offlineMachines.add(a!.id);
    const isolate = await run({ action: 'isolate', wait_seconds: '1' }, [{ dest: a!.id }, { dest: b!.id }]);
    assert.equal(isolate.code, 0, isolate.stderr);
    // The action ids as ES shows them: the machine_action_id of the Common Action Model results.
    const byMachine = new Map(camEvents().map((e) => [e.body.machine_id, e.body.machine_action_id!]));
    const pendingId = byMachine.get(a!.id)!;
    const doneId = byMachine.get(b!.id)!;
    assert.equal(s.graph.mde.devices.actions.get(pendingId)?.status, 'Pending');

    s.graph.requests.length = 0;
    home = mkdtempSync(path.join(s.workDir, 'splunk-'));
    mkdirSync(path.join(home, 'var', 'log', 'splunk'), { recursive: true });
    const cancel = await run({ action: 'cancel', comment: 'Isolated by mistake, notable $name$' }, [{ machine_action_id: pendingId, rid: '0', orig_sid: 'notable_sid', orig_rid: '3' }, { machine_action_id: pendingId.toUpperCase(), rid: '1' }]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(cancels().length, 1, 'one cancel for two results naming the same action');
    assert.equal(s.graph.mde.devices.actions.get(pendingId)!.cancellationComment, 'Isolated by mistake, notable $name$', 'the Comment sent');
    assert.equal(s.graph.mde.devices.actions.get(pendingId)!.status, 'Cancelled');
    assert.equal(outcomes(cancel.stderr, 'succeeded').length, 1, cancel.stderr);
    assert.match(cancel.stderr, /Device action succeeded: Cancellation succeeded \(machine action [0-9a-f-]+, Isolate\)/);
    const results = camEvents();
    assert.equal(results.length, 2, 'one result per result');
    assert.equal(results[0]!.body.device_action, 'cancel');
    assert.equal(results[0]!.body.machine_action_status, 'Cancelled');
    assert.equal(results[0]!.body.machine_id, a!.id);
    assert.match(auditLines()[0]!, /signature="Cancellation succeeded .*orig_sid="notable_sid" rid="0" orig_rid="3" .*action_status="success"/);

    s.graph.requests.length = 0;
    const again = await run({ action: 'cancel' }, [{ machine_action_id: pendingId }]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(cancels().length, 0, 'already Cancelled: nothing sent');
    assert.equal(outcomes(again.stderr, 'already_done').length, 1, again.stderr);

    const finished = await run({ action: 'cancel' }, [{ machine_action_id: doneId }]);
    assert.equal(finished.code, 1);
    assert.equal(cancels().length, 0, 'a finished action: nothing sent');
    assert.match(finished.stderr, /WARN Device action ended: machine action [0-9a-f-]+ \(Isolate\) already ended Succeeded; a finished action cannot be cancelled, nothing sent/);
    assert.equal(s.graph.mde.devices.actions.get(doneId)!.status, 'Succeeded');

    // The stand-in itself refuses to cancel a finished action and leaves it as it ended.
    assert.throws(() => s.graph.mde.devices.route({
      method: 'POST', segments: ['api', 'machineactions', doneId, 'cancel'], path: `/api/machineactions/${doneId}/cancel`, queryPairs: [], body: '{"Comment":"x"}',
      caller: { tenantId: s.tenantId, clientId: s.clientId, roles: ['Machine.Isolate'] }, baseUrl: s.graph.baseUrl,
    }), (e: Error & { status?: number }) => e.status === 400 && /final state \(Succeeded\)/.test(e.message));
  });

  test('an id that is not a GUID is refused before any call; an unknown id is not found; without any machine action permission: named', async () => {
    fleet(1);
    s.graph.requests.length = 0;
    const bad = await run({ action: 'cancel' }, [{ machine_action_id: 'not-a-guid' }, { machine_action_id: "1' or '1'='1" }, { dest: 'x' }]);
    assert.equal(bad.code, 1);
    assert.equal(apiCalls().length, 0, 'nothing sent');
    assert.equal(outcomes(bad.stderr, 'invalid').length, 3, bad.stderr);
    assert.match(bad.stderr, /"not-a-guid" in machine_action_id is not a machine action id \(a GUID/);
    assert.match(bad.stderr, /no machine action id in the field machine_action_id/);

    const unknown = await run({ action: 'cancel', action_id_field: 'ma' }, [{ ma: '988cc94e-7a8f-4b28-ab65-54970c5d5018' }]);
    assert.equal(unknown.code, 1);
    assert.equal(outcomes(unknown.stderr, 'not_found').length, 1, unknown.stderr);
    assert.equal(cancels().length, 0);

    const [a] = fleet(1);
    s.graph.mde.devices.offlineMachines.add(a!.id);
    await run({ action: 'isolate', wait_seconds: '0' }, [{ dest: a!.id }]);
    const id = [...s.graph.mde.devices.actions.keys()][0]!;
    for (const role of ['Machine.Isolate', 'Machine.Scan', 'Machine.StopAndQuarantine']) s.graph.revokeRole(s.clientId, role);
    const denied = await run({ action: 'cancel' }, [{ machine_action_id: id }]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /ERROR Device action forbidden: cancel: .*Grant the application permission Machine\.Isolate, Machine\.Scan, Machine\.CollectForensics, Machine\.RestrictExecution, Machine\.StopAndQuarantine \(any one of them\)/);
    assert.equal(s.graph.mde.devices.actions.get(id)!.status, 'Pending');
  });
});
