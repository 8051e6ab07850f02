/**
 * End to end for defender_endpoint_machines: the built bundle through its launcher, as splunkd
 * runs it, against the simulator's machines API (tools/simulator/mdeDevices.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseReportMessage, type ConnectionReport } from '../../src/connection/report.js';
import { APP_DIR, parseStream, runConfigXml, runInputProcess, validateConfigXml } from '../../tools/harness.js';
import { parseConf } from '../../tools/conf.js';
import { evaluate, loadApp } from '../helpers/searchtime/index.js';
import { expandMacros } from '../helpers/spl.js';
import { runSpl, type Row } from '../helpers/splRun.js';
import { useStandIns } from '../helpers/standIns.js';

const SCHEME = 'defender_endpoint_machines';
const s = useStandIns({ built: `${SCHEME}.js` });

const machineCalls = () => s.graph.requests.filter((r) => r.path === '/api/machines');
async function runOnce(params: Record<string, string>) {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  const result = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, 'inv', params, cp));
  return { ...result, events: parseStream(result.stdout) };
}

describe('defender_endpoint_machines', () => {
  test('every device once per poll across pages of 10,000, sourcetype, CIM Inventory fields at search time', async () => {
    s.graph.mde.resetBudget();
    s.graph.mde.devices.machines.clear();
    s.graph.grantRole(s.clientId, 'Machine.Read.All');
    const machines = s.graph.mde.devices.addMachines(10_250);
    s.graph.requests.length = 0;
    const started = Date.now();
    const r = await runOnce({ account: 'prod', index: 'assets' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, machines.length);
    assert.deepEqual(new Set(r.events.map((e) => JSON.parse(e.data).id)), new Set(machines.map((m) => m.id)));
    assert.equal(machineCalls().length, 2, 'two pages: 10,000 + 250');
    for (const e of r.events.slice(0, 3)) {
      assert.equal(e.sourcetype, 'ms:defender:endpoint:machine');
      assert.equal(e.index, 'assets');
      assert.ok(Number(e.time) * 1000 >= started - 1000, 'the poll time, not lastSeen');
    }
    assert.match(r.stderr, /INFO Poll finished .*emitted=10250 pages=2 .*mode=snapshot/);
    // What an analyst sees at search time for an ingested device.
    const app = loadApp(path.join(APP_DIR));
    const first = machines[0]!;
    const event = r.events.find((e) => JSON.parse(e.data).id === first.id)!;
    const fields = evaluate(app, { sourcetype: event.sourcetype, source: 'defender_endpoint_machines://inv', raw: event.data }).fields;
    assert.deepEqual(fields.get('dest'), [first.computerDnsName]);
    assert.deepEqual(fields.get('mac'), [first.ipAddresses[0]!.macAddress!.toLowerCase().replace(/(..)(?!$)/g, '$1:')]);
    assert.ok(!(fields.get('ip') ?? []).includes('127.0.0.1'));

    // The shipped asset search over what the input ingested (300 devices), run by the SPL model.
    const conf = (file: string) => parseConf(readFileSync(path.join(APP_DIR, 'default', file), 'utf8'));
    const spl = expandMacros(conf('savedsearches.conf').get('Defender XDR - Asset lookup from Defender for Endpoint devices')!.get('search')!, conf('macros.conf')).text;
    const rows: Row[] = r.events.slice(0, 300).map((e) => {
      const row: Row = { _time: e.time, sourcetype: e.sourcetype };
      for (const [k, v] of evaluate(app, { sourcetype: e.sourcetype, raw: e.data }).fields) if (k !== '_raw') row[k] = v.length === 1 ? v[0]! : v;
      return row;
    });
    const lookups: Record<string, Row[]> = {};
    runSpl(spl, rows, { nowS: Date.now() / 1000, lookups });
    const assets = lookups.defender_xdr_assets!;
    assert.equal(assets.length, 300, 'every ingested device is an asset');
    const byId = new Map(machines.map((m) => [m.id, m]));
    for (const asset of assets) {
      const m = byId.get(String(asset._key))!;
      assert.equal(asset.dns, m.computerDnsName);
      assert.equal(asset.bunit, m.rbacGroupName);
      const expected = m.machineTags.includes('DomainController') ? 'critical' : m.deviceValue === 'High' || m.osPlatform.startsWith('WindowsServer') ? 'high' : m.deviceValue === 'Low' ? 'low' : 'medium';
      assert.equal(asset.priority, expected, m.id);
      assert.ok(asset.country, `iplocation on ${m.lastExternalIpAddress} gives a country`);
    }
  });

  test('no device (the API answers 404) is an empty, successful poll; a filter is passed through', async () => {
    s.graph.mde.resetBudget();
    s.graph.mde.devices.machines.clear();
    s.graph.grantRole(s.clientId, 'Machine.Read.All');
    const r = await runOnce({ account: 'prod', filter: "healthStatus eq 'Active'" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 0);
    assert.match(r.stderr, /Poll finished .*emitted=0/);
    const call = machineCalls().at(-1)!;
    assert.equal(call.query.get('$filter'), "healthStatus eq 'Active'");
  });

  test('without Machine.Read.All the poll fails naming the permission', async () => {
    s.graph.mde.resetBudget();
    s.graph.mde.devices.addMachines(3);
    s.graph.revokeRole(s.clientId, 'Machine.Read.All');
    const r = await runOnce({ account: 'prod' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR Poll failed: The Defender for Endpoint API denied access \(403.*Grant the application permission Machine\.Read\.All of the WindowsDefenderATP API/);
    assert.equal(r.events.length, 0);
  });
});

describe('defender_endpoint_machines: owner (opt-in)', () => {
  const logonCalls = () => s.graph.requests.filter((r) => /^\/api\/machines\/[^/]+\/logonusers$/.test(r.path));
  const ownerOf = (events: { data: string }[]) => new Map(events.map((e) => JSON.parse(e.data) as { id: string; owner?: string }).map((m) => [m.id, m.owner]));
  const ledgerLines = (cp: string) => readdirSync(cp).filter((f) => f.startsWith('mde-calls-')).flatMap((f) => readFileSync(path.join(cp, f), 'utf8').trim().split('\n').filter(Boolean)).length;

  test('only new or changed devices are read, capped per poll; owners carried by the checkpoint; every call on the MDE budget', async () => {
    s.graph.mde.resetBudget();
    const devices = s.graph.mde.devices;
    devices.machines.clear();
    devices.logonUsers.clear();
    s.graph.grantRole(s.clientId, 'Machine.Read.All');
    s.graph.grantRole(s.clientId, 'User.Read.All');
    const machines = devices.addMachines(5);
    const day = (n: number) => new Date(Date.now() - n * 86_400_000);
    devices.addLogonUser(machines[0]!.id, 'alice', day(3));
    devices.addLogonUser(machines[0]!.id, 'bob', day(1));
    devices.addLogonUser(machines[0]!.id, 'backup-svc', day(0), { network: true });
    devices.addLogonUser(machines[1]!.id, 'scanner', day(0), { network: true });
    for (const m of machines.slice(3)) devices.addLogonUser(m.id, `user-${m.computerDnsName.split('.')[0]}`, day(2));
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const poll = async (params: Record<string, string>) => {
      s.graph.requests.length = 0;
      const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, 'inv', { account: 'prod', ...params }, cp));
      assert.equal(r.code, 0, r.stderr);
      return { ...r, events: parseStream(r.stdout) };
    };
    const expected = new Map([[machines[0]!.id, 'contoso\\bob'], [machines[1]!.id, 'contoso\\scanner'], [machines[2]!.id, undefined], [machines[3]!.id, `contoso\\user-${machines[3]!.computerDnsName.split('.')[0]}`], [machines[4]!.id, `contoso\\user-${machines[4]!.computerDnsName.split('.')[0]}`]]);

    const off = await poll({});
    assert.equal(logonCalls().length, 0, 'off by default');
    assert.ok([...ownerOf(off.events).values()].every((o) => o === undefined));

    const ledgerBefore = ledgerLines(cp);
    const first = await poll({ owner_lookups: '3' });
    assert.equal(logonCalls().length, 3, 'capped at 3');
    assert.equal(ledgerLines(cp) - ledgerBefore, s.graph.requests.filter((r) => r.path.startsWith('/api/')).length, 'the machines and logon user calls are counted on one budget ledger');
    const read = new Set(logonCalls().map((c) => c.path.split('/')[3]));
    for (const [id, owner] of ownerOf(first.events)) assert.equal(owner, read.has(id) ? expected.get(id) : undefined, id);
    assert.match(first.stderr, /Poll finished .*owner_lookups=3/);

    const second = await poll({ owner_lookups: '3' });
    assert.equal(logonCalls().length, 2, 'the two devices not read yet, the others carried');
    assert.ok(logonCalls().every((c) => !read.has(c.path.split('/')[3]!)));
    assert.deepEqual(ownerOf(second.events), expected);

    const third = await poll({ owner_lookups: '3' });
    assert.equal(logonCalls().length, 0, 'nothing changed');
    assert.deepEqual(ownerOf(third.events), expected);

    // A new full report of device 0 (a new lastSeen) after carol logged on: read again.
    devices.addLogonUser(machines[0]!.id, 'carol', day(0));
    machines[0]!.lastSeen = new Date().toISOString();
    const fourth = await poll({ owner_lookups: '3' });
    assert.deepEqual(logonCalls().map((c) => c.path), [`/api/machines/${machines[0]!.id}/logonusers`]);
    assert.equal(ownerOf(fourth.events).get(machines[0]!.id), 'contoso\\carol');

    // The asset lookup takes the owner from the event.
    const app = loadApp(path.join(APP_DIR));
    const conf = (file: string) => parseConf(readFileSync(path.join(APP_DIR, 'default', file), 'utf8'));
    const spl = expandMacros(conf('savedsearches.conf').get('Defender XDR - Asset lookup from Defender for Endpoint devices')!.get('search')!, conf('macros.conf')).text;
    const rows: Row[] = fourth.events.map((e) => {
      const row: Row = { _time: e.time, sourcetype: e.sourcetype };
      for (const [k, v] of evaluate(app, { sourcetype: e.sourcetype, raw: e.data }).fields) if (k !== '_raw') row[k] = v.length === 1 ? v[0]! : v;
      return row;
    });
    const lookups: Record<string, Row[]> = {};
    runSpl(spl, rows, { nowS: Date.now() / 1000, lookups });
    assert.equal(lookups.defender_xdr_assets!.find((a) => a._key === machines[0]!.id)!.owner, 'contoso\\carol');
  });

  test('without User.Read.All the inventory is still ingested; the missing permission is named once', async () => {
    s.graph.mde.resetBudget();
    s.graph.mde.devices.machines.clear();
    s.graph.mde.devices.addMachines(4);
    s.graph.revokeRole(s.clientId, 'User.Read.All');
    s.graph.requests.length = 0;
    const r = await runOnce({ account: 'prod', owner_lookups: '10' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 4);
    assert.equal(logonCalls().length, 1, 'stops after the first refusal');
    assert.equal(r.stderr.match(/WARN Device owners not read: .*Grant the application permission User\.Read\.All of the WindowsDefenderATP API/g)?.length, 1, r.stderr);
  });
});

describe('Test connection', () => {
  test('probes the machines and vulnerability APIs, names a missing Machine.Read.All', async () => {
    s.graph.mde.resetBudget();
    s.graph.grantRole(s.clientId, 'Machine.Read.All');
    s.graph.grantRole(s.clientId, 'Vulnerability.Read.All');
    const test = async () => {
      const r = await runInputProcess('defender_xdr_connection_test', ['--validate-arguments'], validateConfigXml(s, 'prod', { account: 'prod' }));
      const message = new XMLParser().parse(r.stdout).error?.message as string;
      return parseReportMessage(message)!;
    };
    const ok = await test();
    const step = (report: ConnectionReport, permission: string) => report.steps.find((x) => x.title.startsWith(`${permission}: GET /api/machines`));
    assert.equal(step(ok, 'Machine.Read.All')?.ok, true, JSON.stringify(ok));
    assert.equal(step(ok, 'Vulnerability.Read.All')?.ok, true, JSON.stringify(ok));
    s.graph.revokeRole(s.clientId, 'Machine.Read.All');
    const denied = await test();
    assert.equal(denied.ok, false);
    assert.match(step(denied, 'Machine.Read.All')!.message, /Grant the application permission Machine\.Read\.All of the WindowsDefenderATP API/);
    s.graph.grantRole(s.clientId, 'Machine.Read.All');
  });

  test('names each response action permission from the token: all granted, then a missing Machine.Isolate', async () => {
    const writes = ['Machine.Isolate', 'Machine.Scan', 'Machine.CollectForensics', 'Machine.RestrictExecution', 'Machine.StopAndQuarantine', 'Ti.ReadWrite', 'User.Read.All'];
    for (const role of writes) s.graph.grantRole(s.clientId, role);
    const run = async () => {
      const r = await runInputProcess('defender_xdr_connection_test', ['--validate-arguments'], validateConfigXml(s, 'prod', { account: 'prod' }));
      assert.ok(!r.stderr.includes('eyJ'), 'no token in the log');
      return parseReportMessage(new XMLParser().parse(r.stdout).error?.message as string)!;
    };
    try {
      const all = await run();
      assert.equal(all.permissions?.readable, true, JSON.stringify(all.permissions));
      assert.ok(all.permissions!.lines.length >= 7);
      assert.deepEqual(all.permissions!.lines.filter((l) => !l.granted), []);
      s.graph.revokeRole(s.clientId, 'Machine.Isolate');
      const some = await run();
      assert.equal(some.ok, all.ok, 'a missing write permission does not fail the account');
      const missing = some.permissions!.lines.filter((l) => !l.granted);
      assert.deepEqual(missing.map((l) => l.permission), ['Machine.Isolate']);
      assert.match(missing[0]!.message, /add the application permission Machine\.Isolate of the WindowsDefenderATP API.*action=isolate and action=release/);
      assert.ok(!JSON.stringify(some).includes('eyJ'), 'the report holds no token');
    } finally {
      for (const role of writes) s.graph.revokeRole(s.clientId, role);
    }
  });
});
