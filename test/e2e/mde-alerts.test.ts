/**
 * End to end for defender_endpoint_alerts: the built bundle through its launcher, against the
 * simulator's Defender for Endpoint alerts API (tools/simulator/mde.ts) and the splunkd stand-in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseStream, provisionAccount, runConfigXml, runInputProcess, validateConfigXml, type StreamEvent } from '../../tools/harness.js';
import { useStandIns } from '../helpers/standIns.js';

const SCHEME = 'defender_endpoint_alerts';
const s = useStandIns({ built: `${SCHEME}.js` });

const newCheckpointDir = () => mkdtempSync(path.join(s.workDir, 'cp-'));
const ids = (events: StreamEvent[]) => events.map((e) => JSON.parse(e.data).id as string);
const since = (ms: number) => new Date(Date.now() - ms).toISOString();
const mdeCalls = () => s.graph.requests.filter((r) => r.path === '/api/alerts');

async function runOnce(name: string, params: Record<string, string>, checkpointDir: string, opts: { killAfterStdoutBytes?: number } = {}) {
  const result = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, params, checkpointDir), opts);
  return { ...result, events: parseStream(result.stdout, { complete: opts.killAfterStdoutBytes === undefined }) };
}

function resetApi(): void {
  s.graph.mde.alerts.clear();
  s.graph.mde.nextLinks = true;
  s.graph.mde.resetBudget();
  s.graph.requests.length = 0;
}

describe('defender_endpoint_alerts: splunkd calling modes', () => {
  test('--scheme describes the input and its legacy_siem_format flag', async () => {
    const r = await runInputProcess(SCHEME, ['--scheme'], '');
    assert.equal(r.code, 0);
    const args = new XMLParser({ ignoreAttributes: false }).parse(r.stdout).scheme.endpoint.args.arg as Record<string, string>[];
    const flag = args.find((a) => a['@_name'] === 'legacy_siem_format');
    assert.equal(flag?.data_type, 'boolean');
  });

  test('--validate-arguments names the field: flag, region, cloud without the API, custom without mde_url', async () => {
    const validate = (params: Record<string, string>) => runInputProcess(SCHEME, ['--validate-arguments'], validateConfigXml(s, 'v', params));
    const good = await validate({ account: 'prod', legacy_siem_format: 'true', filter: "severity eq 'High'", interval: '300' });
    assert.equal(good.code, 0, good.stdout + good.stderr);

    provisionAccount(s, 'china', { cloud: 'china', login_url: '', graph_url: '', mde_url: '' });
    provisionAccount(s, 'nomde', { mde_url: '' });
    provisionAccount(s, 'wrongregion', { cloud: 'gcc_high', mde_region: 'eu', login_url: '', graph_url: '', mde_url: '' });
    provisionAccount(s, 'badregion', { mde_region: 'mars' });
    const cases: [Record<string, string>, RegExp][] = [
      [{ account: 'prod', legacy_siem_format: 'maybe' }, /Legacy SIEM format \(legacy_siem_format\): "maybe" must be true or false/],
      [{ account: 'prod', filter: "severity eq 'High" }, /filter.*unterminated/],
      [{ account: 'china' }, /china cloud, where Microsoft offers no Defender for Endpoint API/],
      [{ account: 'nomde' }, /cloud = custom without mde_url/],
      [{ account: 'wrongregion' }, /mde_region: "eu" is not a Defender for Endpoint region of cloud gcc_high; use one of gcc_high/],
      [{ account: 'badregion' }, /mde_region: "mars" is not one of general, us, eu, uk, gcc, gcc_high, dod/],
    ];
    for (const [params, expected] of cases) {
      const r = await validate(params);
      assert.notEqual(r.code, 0, JSON.stringify(params));
      assert.match(new XMLParser().parse(r.stdout).error?.message as string, expected);
    }
  });
});

describe('defender_endpoint_alerts: collection', () => {
  test('every alert with its evidence, sourcetype, _time from lastUpdateTime; quiet second poll; updates re-ingested', async () => {
    resetApi();
    const created = s.graph.mde.addAlerts(1200, { at: new Date(Date.now() - 60_000), spreadMs: 2 * 24 * 3600 * 1000 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', index: 'edr', start_date: since(3 * 86_400_000) };
    const first = await runOnce('prod', params, cp);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.events.length, 1200);
    assert.deepEqual(new Set(ids(first.events)), new Set(created.map((a) => a.id)));
    const sample = first.events[0];
    const doc = JSON.parse(sample.data);
    assert.equal(sample.sourcetype, 'ms:defender:endpoint:alert');
    assert.equal(sample.index, 'edr');
    assert.equal(sample.time, Math.floor(Date.parse(doc.lastUpdateTime)) / 1000);
    assert.ok(Array.isArray(doc.evidence) && doc.evidence.length > 0 && doc.evidence[0].entityType, 'evidence expanded');
    // The documented query: window on lastUpdateTime, evidence expanded, no $count, within the page cap.
    for (const call of mdeCalls()) {
      assert.match(call.query.get('$filter') ?? '', /^lastUpdateTime ge \S+ and lastUpdateTime lt \S+$/);
      assert.equal(call.query.get('$expand'), 'evidence');
      assert.equal(call.query.get('$count'), null);
      assert.ok(Number(call.query.get('$top')) <= 10_000);
    }

    const quiet = await runOnce('prod', params, cp);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.events.length, 0);

    const updated = s.graph.mde.updateAlert(created[7].id, { status: 'Resolved' });
    const third = await runOnce('prod', params, cp);
    assert.deepEqual(third.events.map((e) => `${JSON.parse(e.data).id}@${JSON.parse(e.data).lastUpdateTime}`), [`${updated.id}@${updated.lastUpdateTime}`]);
    const checkpointText = readdirSync(cp).map((f) => readFileSync(path.join(cp, f), 'utf8')).join('');
    assert.ok(!checkpointText.includes(s.clientSecret));
    // Every call of the three polls is in the app's call ledger beside the checkpoints, which the
    // next process (poll or input) counts against the API's budget.
    const ledger = readdirSync(cp).filter((f) => /^mde-calls-[0-9a-f]{16}\.log$/.test(f));
    assert.equal(ledger.length, 1);
    assert.equal(readFileSync(path.join(cp, ledger[0]), 'utf8').trim().split('\n').length, mdeCalls().length);
  });

  test('more alerts than one page: windows narrow until each fits one page (no offset paging), also when the API sends no nextLink', async () => {
    for (const nextLinks of [true, false]) {
      resetApi();
      s.graph.mde.nextLinks = nextLinks;
      s.graph.mde.addAlerts(5000, { at: new Date(Date.now() - 60_000), spreadMs: 6 * 3600 * 1000 });
      const r = await runOnce(`big${nextLinks}`, { account: 'prod', start_date: since(86_400_000) }, newCheckpointDir());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(new Set(ids(r.events)).size, 5000);
      assert.equal(r.events.length, 5000, 'no duplicates');
      assert.ok(mdeCalls().every((c) => c.query.get('$skip') === null), 'windows are narrowed, never paged by offset');
      assert.ok(mdeCalls().length > 3, 'the window was split');
    }
  });

  test('legacy_siem_format: one flat record per alert in the SIEM API layout', async () => {
    resetApi();
    const [alert] = s.graph.mde.addAlerts(1, { at: new Date(Date.now() - 60_000) });
    const r = await runOnce('siem', { account: 'prod', legacy_siem_format: '1', start_date: since(86_400_000) }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0].sourcetype, 'ms:defender:siem:alert');
    const record = JSON.parse(r.events[0].data);
    assert.equal(record.AlertId, alert.id);
    assert.equal(record.AlertTitle, alert.title);
    assert.equal(record.Severity, alert.severity);
    assert.equal(record.ComputerDnsName, alert.computerDnsName);
    assert.equal(record.DeviceID, alert.machineId);
    assert.equal(record.LinkToWDATP, `https://security.microsoft.com/alerts/${alert.id}`);
    assert.equal(record.IncidentLinkToWDATP, `https://security.microsoft.com/incidents/${alert.incidentId}`);
    assert.ok(Object.values(record).every((v) => typeof v === 'string' || typeof v === 'boolean'), 'flat');
    assert.match(r.stderr, /format=legacy_siem/);
  });

  test('the optional filter is ANDed to the window', async () => {
    resetApi();
    const all = s.graph.mde.addAlerts(300, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    const high = all.filter((a) => a.severity === 'High').length;
    assert.ok(high > 0 && high < 300);
    const r = await runOnce('f', { account: 'prod', filter: "severity eq 'High'", start_date: since(86_400_000) }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, high);
  });

  test('kill -9 mid-run, then resume: nothing lost, at most one page repeated', async () => {
    resetApi();
    s.graph.mde.addAlerts(4500, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', start_date: since(86_400_000) };
    const killed = await runOnce('kill', params, cp, { killAfterStdoutBytes: 9_000_000 });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(killed.events.length > 0 && killed.events.length < 4500, `killed run emitted ${killed.events.length}`);
    const resumed = await runOnce('kill', params, cp);
    assert.equal(resumed.code, 0, resumed.stderr);
    const all = [...ids(killed.events), ...ids(resumed.events)];
    assert.equal(new Set(all).size, 4500, 'an alert was lost');
    assert.ok(all.length - 4500 <= 2000, `${all.length - 4500} repeated, more than one page`);
  });

  test('429 with Retry-After, 5xx and resets are retried; nothing lost or repeated', async () => {
    resetApi();
    s.graph.mde.addAlerts(500, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    s.graph.faults.push(
      { match: /^\/api\/alerts/, fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 },
      { match: /^\/api\/alerts/, fault: { kind: 'status', status: 503 }, times: 1 },
      { match: /^\/api\/alerts/, fault: { kind: 'reset' }, times: 1 },
    );
    const r = await runOnce('faults', { account: 'prod', start_date: since(86_400_000) }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 500);
    assert.equal(new Set(ids(r.events)).size, 500);
    assert.match(r.stderr, /throttled=1/);
    assert.equal(s.graph.faults.reduce((n, f) => n + f.times, 0), 0, 'every fault was hit');
  });

  test('without Alert.Read.All: exit 1, the permission and API named plainly, no checkpoint', async () => {
    resetApi();
    s.graph.mde.addAlerts(5, { at: new Date(Date.now() - 60_000) });
    s.graph.revokeRole(s.clientId, 'Alert.Read.All');
    try {
      const cp = newCheckpointDir();
      const r = await runOnce('perm', { account: 'prod' }, cp);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ERROR Poll failed: The Defender for Endpoint API denied access \(403.*Grant the application permission Alert\.Read\.All of the WindowsDefenderATP API/m);
      assert.deepEqual(r.events, []);
      const saved = readdirSync(cp).filter((f) => f.endsWith('.json'));
      assert.deepEqual(saved, [], 'no checkpoint');
    } finally {
      s.graph.grantRole(s.clientId, 'Alert.Read.All');
    }
  });
});
