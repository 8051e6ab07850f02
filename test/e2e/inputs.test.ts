/**
 * End to end: the built bundle, started through its launcher exactly as splunkd starts it,
 * against the Graph/Entra simulator (https, self-signed CA via the account's ca_file) and the
 * splunkd REST stand-in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseStream, provisionAccount, runConfigXml, runInputProcess, validateConfigXml, type StreamEvent } from '../../tools/harness.js';
import { ConnectProxy } from '../helpers/connectProxy.js';
import { useStandIns } from '../helpers/standIns.js';

const s = useStandIns({ built: 'defender_xdr_alerts.js' });

const newCheckpointDir = () => mkdtempSync(path.join(s.workDir, 'cp-'));
const ids = (events: StreamEvent[]) => events.map((e) => JSON.parse(e.data).id as string);
const versions = (events: StreamEvent[]) => events.map((e) => { const d = JSON.parse(e.data); return `${d.id}@${d.lastUpdateDateTime}`; });

async function runOnce(scheme: string, name: string, params: Record<string, string>, checkpointDir: string, opts: { killAfterStdoutBytes?: number } = {}) {
  const result = await runInputProcess(scheme, [], runConfigXml(s, scheme, name, params, checkpointDir), opts);
  return { ...result, events: parseStream(result.stdout, { complete: opts.killAfterStdoutBytes === undefined }) };
}

function assertNoSecrets(...texts: string[]): void {
  for (const text of texts) {
    assert.ok(!text.includes(s.clientSecret), 'client secret leaked');
    assert.ok(!text.includes(s.sessionKey), 'session key leaked');
  }
}

describe('splunkd calling modes', () => {
  test('--scheme prints the scheme of each input', async () => {
    for (const scheme of ['defender_xdr_alerts', 'defender_xdr_incidents']) {
      const r = await runInputProcess(scheme, ['--scheme'], '');
      assert.equal(r.code, 0);
      const parsed = new XMLParser({ ignoreAttributes: false }).parse(r.stdout);
      assert.equal(parsed.scheme.streaming_mode, 'xml');
      assert.ok(parsed.scheme.endpoint.args.arg.some((a: Record<string, string>) => a['@_name'] === 'account'));
    }
  });

  test('--validate-arguments accepts a good input and rejects bad ones naming the field', async () => {
    const validate = async (params: Record<string, string>) => runInputProcess('defender_xdr_alerts', ['--validate-arguments'], validateConfigXml(s, 'in1', params));
    const good = await validate({ account: 'prod', start_date: '2024-05-01T00:00:00Z', interval: '300' });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(good.stdout, '');

    provisionAccount(s, 'badguid', { client_id: 'not-a-guid' });
    provisionAccount(s, 'nosecret', {}, null);
    const cases: [Record<string, string>, RegExp][] = [
      [{ account: 'prod', start_date: 'last tuesday' }, /start_date/],
      [{ account: 'ghost' }, /account.*"ghost" does not exist/i],
      [{ account: 'badguid' }, /client_id.*not a GUID/],
      [{ account: 'nosecret' }, /No client secret is stored for account "nosecret"/],
      [{ account: 'prod', interval: '5' }, /interval/i],
    ];
    for (const [params, expected] of cases) {
      const r = await validate(params);
      assert.notEqual(r.code, 0, JSON.stringify(params));
      const message = new XMLParser().parse(r.stdout).error?.message as string;
      assert.match(message, expected);
    }
  });
});

describe('alerts input', () => {
  test('ingests every alert with the right sourcetype, index and _time; quiet second poll; updates re-ingested', async () => {
    s.graph.alerts.clear();
    const created = s.graph.addAlerts(2300, { at: new Date(Date.now() - 60_000), spreadMs: 3 * 24 * 3600 * 1000 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', index: 'defender', start_date: new Date(Date.now() - 5 * 24 * 3600 * 1000).toISOString() };
    const first = await runOnce('defender_xdr_alerts', 'prod', params, cp);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.events.length, 2300);
    assert.deepEqual(new Set(ids(first.events)), new Set(created.map((a) => a.id)));
    const sample = first.events[0];
    const doc = JSON.parse(sample.data);
    assert.equal(sample.sourcetype, 'ms:defender:alert');
    assert.equal(sample.index, 'defender');
    assert.equal(sample.stanza, 'defender_xdr_alerts://prod');
    assert.equal(sample.time, Math.floor(Date.parse(doc.lastUpdateDateTime)) / 1000);
    assert.match(first.stderr, /^INFO Poll finished .*emitted=2300/m);
    assertNoSecrets(first.stdout, first.stderr);
    // Every request asked for unknown enum members and stayed within the page cap.
    const listCalls = s.graph.requests.filter((r) => r.path.endsWith('/security/alerts_v2'));
    assert.ok(listCalls.length >= 3);
    for (const r of listCalls) assert.ok(Number(r.query.get('$top')) <= 1000);

    const quiet = await runOnce('defender_xdr_alerts', 'prod', params, cp);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.events.length, 0);

    const updated = s.graph.updateAlert(created[5].id, { status: 'resolved' });
    const third = await runOnce('defender_xdr_alerts', 'prod', params, cp);
    assert.deepEqual(versions(third.events), [`${updated.id}@${updated.lastUpdateDateTime}`]);
    assert.equal(JSON.parse(third.events[0].data).status, 'resolved');

    const checkpointText = readdirSync(cp).map((f) => readFileSync(path.join(cp, f), 'utf8')).join('');
    assertNoSecrets(checkpointText);
  });

  test('the optional filter is ANDed to the window', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(200, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    const high = [...s.graph.alerts.values()].filter((a) => a.severity === 'high').length;
    assert.ok(high > 0 && high < 200);
    const r = await runOnce('defender_xdr_alerts', 'f', { account: 'prod', filter: "severity eq 'high'", start_date: new Date(Date.now() - 86_400_000).toISOString() }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, high);
  });

  for (const honoursOrderBy of [true, false]) {
    const paging = honoursOrderBy ? 'oldest first by keyset' : 'by offset, $orderby ignored';
    test(`items updated while the input pages (${paging}) are neither lost nor duplicated`, async () => {
      s.graph.alerts.clear();
      s.graph.honoursOrderBy = honoursOrderBy;
      const created = s.graph.addAlerts(3000, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
      const cp = newCheckpointDir();
      const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
      let moved = 0;
      let pages = 0;
      // After the first page, alerts both already read and not read yet change (and leave the window).
      s.graph.onListPage = (info) => {
        if (info.collection === 'alerts' && pages++ > 0 && moved < 40) {
          for (let i = 0; i < 5; i++) s.graph.updateAlert(created[moved++].id);
          for (let i = 0; i < 5; i++) s.graph.updateAlert(created[2999 - moved++].id);
        }
      };
      try {
        const first = await runOnce('defender_xdr_alerts', 'prod', params, cp);
        s.graph.onListPage = undefined;
        assert.equal(first.code, 0, first.stderr);
        assert.ok(moved > 0, 'nothing changed while paging');
        if (!honoursOrderBy) assert.match(first.stderr, /did not come oldest change first, or the window changed while read; reading the rest of it by offset/);
        const second = await runOnce('defender_xdr_alerts', 'prod', params, cp);
        const all = [...versions(first.events), ...versions(second.events)];
        assert.equal(new Set(all).size, all.length, 'a version was emitted twice');
        const expected = [...s.graph.alerts.values()].map((a) => `${a.id}@${a.lastUpdateDateTime}`);
        for (const v of expected) assert.ok(all.includes(v), `final version ${v} never emitted`);
        assert.equal(new Set(ids([...first.events, ...second.events])).size, 3000);
      } finally {
        s.graph.onListPage = undefined;
        s.graph.honoursOrderBy = true;
      }
    });
  }

  test('kill -9 mid-run, then resume: nothing lost, at most one page repeated', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(4500, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
    const killed = await runOnce('defender_xdr_alerts', 'prod', params, cp, { killAfterStdoutBytes: 2_500 * 3_000 });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(killed.events.length > 0 && killed.events.length < 4500, `killed run emitted ${killed.events.length}`);
    const resumed = await runOnce('defender_xdr_alerts', 'prod', params, cp);
    assert.equal(resumed.code, 0, resumed.stderr);
    const all = [...ids(killed.events), ...ids(resumed.events)];
    assert.equal(new Set(all).size, 4500, 'an alert was lost');
    assert.ok(all.length - 4500 <= 1000, `${all.length - 4500} repeated, more than one page`);
  });

  test('throttling (429 Retry-After), 5xx, resets and truncated bodies are retried transparently', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(1500, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    s.graph.faults.push(
      { match: /alerts_v2/, fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 },
      { match: /alerts_v2/, fault: { kind: 'status', status: 503 }, times: 1 },
      { match: /alerts_v2/, fault: { kind: 'reset' }, times: 1 },
      { match: /alerts_v2/, fault: { kind: 'truncate' }, times: 1 },
      { match: /oauth2/, fault: { kind: 'status', status: 500, body: { error: 'temporarily_unavailable' } }, times: 1 },
    );
    const started = Date.now();
    const r = await runOnce('defender_xdr_alerts', 'faults', { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(ids(r.events)).size, 1500);
    assert.equal(r.events.length, 1500);
    assert.ok(Date.now() - started >= 1000, 'Retry-After: 1 was honoured');
    assert.match(r.stderr, /WARN Request failed, retrying .*status=429/);
    assert.match(r.stderr, /throttled=1/);
    assert.equal(s.graph.faults.reduce((n, f) => n + f.times, 0), 0, 'every fault was hit');
  });

  test('a wrong secret is one clear ERROR, exit 1, no checkpoint, secret never logged', async () => {
    provisionAccount(s, 'wrong', {}, 'Canary~wrong-secret-123');
    const cp = newCheckpointDir();
    const r = await runOnce('defender_xdr_alerts', 'w', { account: 'wrong' }, cp);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR Poll failed: The client secret is wrong \(AADSTS7000215\)/m);
    assert.ok(!r.stderr.includes('Canary~wrong-secret-123'));
    assert.deepEqual(parseStream(r.stdout), []);
    assert.deepEqual(readdirSync(cp), []);
  });

  test('a missing permission says which one to grant', async () => {
    s.graph.revokeRole(s.clientId, 'SecurityAlert.Read.All');
    try {
      const r = await runOnce('defender_xdr_alerts', 'perm', { account: 'prod' }, newCheckpointDir());
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ERROR Poll failed: .*403.*SecurityAlert\.Read\.All/m);
    } finally {
      s.graph.apps[0].roles.push('SecurityAlert.Read.All');
    }
  });

  test('an unknown account or a missing secret fails the run with what to fix', async () => {
    const unknown = await runOnce('defender_xdr_alerts', 'u', { account: 'ghost' }, newCheckpointDir());
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^ERROR Poll failed: Account "ghost" does not exist/m);
    provisionAccount(s, 'nosecret2', {}, null);
    const noSecret = await runOnce('defender_xdr_alerts', 'n', { account: 'nosecret2' }, newCheckpointDir());
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /^ERROR Poll failed: No client secret is stored for account "nosecret2"/m);
  });
});

describe('incidents input', () => {
  test('incidents arrive with their alerts inside, one event each', async () => {
    s.graph.incidents.clear();
    const incidents = s.graph.addIncidents(120, { alertsPerIncident: 3, at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    const r = await runOnce('defender_xdr_incidents', 'inc', { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() }, newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 120);
    assert.deepEqual(new Set(ids(r.events)), new Set(incidents.map((i) => i.id)));
    for (const e of r.events) {
      assert.equal(e.sourcetype, 'ms:defender:incident');
      assert.equal(JSON.parse(e.data).alerts.length, 3);
    }
    for (const req of s.graph.requests.filter((q) => q.path.endsWith('/security/incidents'))) assert.ok(Number(req.query.get('$top')) <= 50);
  });

  test('when $expand=alerts fails server-side, incidents still arrive with their alerts', async () => {
    s.graph.incidents.clear();
    s.graph.expandFailsWithFilter = true;
    try {
      s.graph.addIncidents(60, { alertsPerIncident: 2, at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
      const r = await runOnce('defender_xdr_incidents', 'fallback', { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() }, newCheckpointDir());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.events.length, 60);
      for (const e of r.events) assert.equal(JSON.parse(e.data).alerts.length, 2);
      assert.match(r.stderr, /WARN Listing incidents with \$expand=alerts failed/);
      assert.match(r.stderr, /expand_fallback=1/);
    } finally {
      s.graph.expandFailsWithFilter = false;
    }
  });
});

describe('forwarder environment', () => {
  test('NODE_EXTRA_CA_CERTS is trusted when the account has no ca_file', async () => {
    provisionAccount(s, 'noca', { ca_file: '' });
    s.graph.alerts.clear();
    s.graph.addAlerts(5, { at: new Date(Date.now() - 60_000) });
    const config = runConfigXml(s, 'defender_xdr_alerts', 'noca', { account: 'noca' }, newCheckpointDir());
    const untrusted = await runInputProcess('defender_xdr_alerts', [], config);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^ERROR Poll failed: Cannot reach Entra ID: .*SELF_SIGNED.*set the account's ca_file/m);
    assert.doesNotMatch(untrusted.stderr, /retrying/, 'an untrusted certificate is not retried');
    const trusted = await runInputProcess('defender_xdr_alerts', [], config, { env: { NODE_EXTRA_CA_CERTS: s.caFile } });
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(parseStream(trusted.stdout).length, 5);
  });

  test('the proxy from defender_xdr_settings.conf, with its password from storage/passwords, carries every call', async () => {
    const proxy = new ConnectProxy('svc-splunk', 'Canary~proxy-pass');
    await proxy.start();
    try {
      s.splunkd.setConfStanza('TA-defender-xdr', 'defender_xdr_settings', 'proxy', { proxy_enabled: '1', proxy_url: proxy.url, proxy_username: 'svc-splunk' });
      s.splunkd.setPassword('TA-defender-xdr', 'TA-defender-xdr', '__proxy__', 'Canary~proxy-pass');
      s.graph.alerts.clear();
      s.graph.addAlerts(7, { at: new Date(Date.now() - 60_000) });
      const r = await runOnce('defender_xdr_alerts', 'proxied', { account: 'prod' }, newCheckpointDir());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.events.length, 7);
      assert.ok(proxy.connects.length >= 1, 'nothing went through the proxy');
      assert.ok(proxy.connects.every((c) => c.target === new URL(s.graph.baseUrl).host));
      assert.ok(!r.stderr.includes('Canary~proxy-pass'));
    } finally {
      s.splunkd.setConfStanza('TA-defender-xdr', 'defender_xdr_settings', 'proxy', { proxy_enabled: '0', proxy_url: '', proxy_username: '' });
      await proxy.stop();
    }
  });

  test('a corrupt checkpoint is moved aside with an ERROR and collection restarts from start_date', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(30, { at: new Date(Date.now() - 60_000), spreadMs: 600_000 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
    await runOnce('defender_xdr_alerts', 'corrupt', params, cp);
    const [file] = readdirSync(cp);
    writeFileSync(path.join(cp, file), '{"version":1,"highWaterMark":');
    const r = await runOnce('defender_xdr_alerts', 'corrupt', params, cp);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ERROR Checkpoint is corrupt; moved aside/m);
    assert.equal(r.events.length, 30, 'duplicates rather than gaps');
    assert.ok(readdirSync(cp).some((f) => f.includes('.corrupt-')));
  });

  test('the alerts input refuses a China-cloud account with the reason, at validation time', async () => {
    provisionAccount(s, 'cn', { cloud: 'china', login_url: '', graph_url: '' });
    const r = await runInputProcess('defender_xdr_alerts', ['--validate-arguments'], validateConfigXml(s, 'cn', { account: 'cn' }));
    assert.equal(r.code, 1);
    assert.match(new XMLParser().parse(r.stdout).error.message, /China cloud.*does not offer security\/alerts_v2/);
  });
});

describe('concurrency', () => {
  test('a second process on the same stanza backs off with a WARN while the first polls', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(3000, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
    s.graph.faults.push({ match: /alerts_v2/, fault: { kind: 'delay', ms: 400 }, times: 3 });
    const cp = newCheckpointDir();
    const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
    const first = runOnce('defender_xdr_alerts', 'shared', params, cp);
    await new Promise((r) => setTimeout(r, 700)); // the first one is waiting on its first page
    const second = await runOnce('defender_xdr_alerts', 'shared', params, cp);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /^WARN Another process \(pid \d+\) is already collecting this input/m);
    assert.equal(second.events.length, 0);
    const done = await first;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.events.length, 3000);
    assert.ok(!readdirSync(cp).some((f) => f.endsWith('.lock')), 'the lock is released');
  });
});

describe('local faults', () => {
  test('an unusable checkpoint folder fails the poll loudly and emits nothing unacknowledged', async () => {
    s.graph.alerts.clear();
    s.graph.addAlerts(20, { at: new Date(Date.now() - 60_000) });
    const notAFolder = path.join(newCheckpointDir(), 'file');
    writeFileSync(notAFolder, 'x');
    const r = await runOnce('defender_xdr_alerts', 'badcp', { account: 'prod' }, notAFolder);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR Poll failed: .*(ENOTDIR|EEXIST).*file/m);
    assert.deepEqual(r.events, []);
  });
});
