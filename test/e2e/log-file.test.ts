/**
 * End to end: the built inputs, run as splunkd runs them under a temporary SPLUNK_HOME, write their
 * log lines to $SPLUNK_HOME/var/log/splunk/ta_defender_xdr.log too; the shipped props/transforms
 * extract the fields the health dashboard reads, and no secret ever reaches the file.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADDON_LOG_NAME } from '../../src/splunk/logFile.js';
import { provisionAccount, ROOT, runConfigXml, runInputProcess, SECRET_CANARY, startStandIns, type StandIns } from '../../tools/harness.js';
import { evaluate, loadApp } from '../helpers/searchtime/index.js';
import { LOG_SAMPLE_FILE, logSampleFields } from '../helpers/logSample.js';

let s: StandIns;
let splunkHome: string;
let logFile: string;
before(async () => {
  s = await startStandIns();
  provisionAccount(s, 'prod');
  provisionAccount(s, 'wrong', {}, `${SECRET_CANARY}wrong-secret-456`);
  splunkHome = mkdtempSync(path.join(s.workDir, 'splunk-home-'));
  mkdirSync(path.join(splunkHome, 'var', 'log', 'splunk'), { recursive: true });
  logFile = path.join(splunkHome, 'var', 'log', 'splunk', ADDON_LOG_NAME);
});
after(async () => {
  // The file is input output too: CI scans it for the test secrets with everything else.
  const out = process.env.TA_TEST_OUTPUT_LOG;
  if (out && logFile) appendFileSync(out, readFileSync(logFile, 'utf8'));
  await s?.stop();
});

const run = (scheme: string, name: string, params: Record<string, string>) =>
  runInputProcess(scheme, [], runConfigXml(s, scheme, name, params, mkdtempSync(path.join(s.workDir, 'cp-'))), { env: { SPLUNK_HOME: splunkHome } });

const LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \+0000 (DEBUG|INFO|WARN|ERROR) .* pid=\d+$/;

test('poll summaries, retries and failures land in the add-on log, with the fields the dashboards read and no secret', async () => {
  s.graph.addAlerts(40, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
  s.graph.faults.push(
    { match: /alerts_v2/, fault: { kind: 'status', status: 429, retryAfter: '0' }, times: 1 },
    { match: /alerts_v2/, fault: { kind: 'status', status: 503 }, times: 1 },
    { match: /alerts_v2/, fault: { kind: 'reset' }, times: 1 },
  );
  const start_date = new Date(Date.now() - 86_400_000).toISOString();
  const alerts = await run('defender_xdr_alerts', 'prod', { account: 'prod', start_date, interval: '300' });
  assert.equal(alerts.code, 0, alerts.stderr);
  s.graph.addIncidents(5, { alertsPerIncident: 2, at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
  const incidents = await run('defender_xdr_incidents', 'prod', { account: 'prod', start_date });
  assert.equal(incidents.code, 0, incidents.stderr);
  const wrong = await run('defender_xdr_alerts', 'wrong', { account: 'wrong' });
  assert.equal(wrong.code, 1);

  if (process.platform !== 'win32') assert.equal(statSync(logFile).mode & 0o777, 0o600);
  const text = readFileSync(logFile, 'utf8');
  for (const secret of [s.clientSecret, s.sessionKey, SECRET_CANARY]) assert.ok(!text.includes(secret), 'a secret reached the log file');
  const lines = text.trimEnd().split('\n');
  for (const line of lines) assert.match(line, LINE);
  // stderr (splunkd.log) and the file carry the same lines.
  assert.deepEqual(
    lines.map((l) => l.replace(/^\S+ \S+ \S+ /, '').replace(/ pid=\d+$/, '')),
    [alerts, incidents, wrong].flatMap((r) => r.stderr.trimEnd().split('\n')),
  );

  const app = loadApp(ROOT);
  const fieldsOf = (line: string) => evaluate(app, { sourcetype: 'ta:defender:xdr:log', source: logFile, raw: line }).fields;
  const one = (line: string | undefined, field: string) => (line ? fieldsOf(line).get(field)?.[0] : undefined);

  const alertSummary = lines.find((l) => l.includes('INFO Poll finished') && l.includes('scheme=defender_xdr_alerts'));
  assert.ok(alertSummary);
  const f = fieldsOf(alertSummary);
  const expect: Record<string, string | RegExp> = {
    log_level: 'INFO', log_message: 'Poll finished', outcome: 'success', input: 'defender_xdr_alerts://prod', scheme: 'defender_xdr_alerts',
    account: 'prod', tenant: s.tenantId, interval: '300', emitted: '40', throttled: '1', server_errors: '1', network_errors: '1', retries: '3',
    token_failures: '0', token_rejected: '0', requests: /^\d+$/, waited_ms: /^\d+$/, duration_ms: /^\d+$/, checkpoint_lag_s: /^\d+$/,
    high_water_mark: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/, pid: /^\d+$/,
    cpu_ms: /^[1-9]\d*$/, max_rss_mb: /^\d+(\.\d)?$/,
  };
  for (const [field, value] of Object.entries(expect)) {
    const got = f.get(field)?.[0];
    if (typeof value === 'string') assert.equal(got, value, field);
    else assert.match(got ?? '', value, field);
  }
  assert.ok(Number(f.get('checkpoint_lag_s')?.[0]) < 120, 'lag right after a successful poll is small');
  // The process's own cost: a Node.js process is never under 20 MB resident, nor a poll over 1 GB.
  assert.ok(Number(f.get('max_rss_mb')?.[0]) > 20 && Number(f.get('max_rss_mb')?.[0]) < 1024, 'max_rss_mb is the peak in MB');

  const retry = lines.find((l) => l.includes('WARN Request failed, retrying') && l.includes('status=503'));
  assert.equal(one(retry, 'error_kind'), 'http_server');
  assert.equal(one(retry, 'account'), 'prod');
  assert.equal(one(lines.find((l) => l.includes('status=429')), 'error_kind'), 'throttled');

  const incidentSummary = lines.find((l) => l.includes('INFO Poll finished') && l.includes('scheme=defender_xdr_incidents'));
  assert.equal(one(incidentSummary, 'emitted'), '5');

  const failure = lines.find((l) => l.includes('ERROR Poll failed'));
  assert.ok(failure);
  const ff = fieldsOf(failure);
  assert.equal(ff.get('outcome')?.[0], 'failure');
  assert.equal(ff.get('error_kind')?.[0], 'auth');
  assert.equal(ff.get('token_failures')?.[0], '1');
  assert.equal(ff.get('account')?.[0], 'wrong');
  assert.match(ff.get('log_message')?.[0] ?? '', /^Poll failed: The client secret is wrong/);

  if (process.env.TA_WRITE_LOG_SAMPLE) appendFileSync(process.env.TA_WRITE_LOG_SAMPLE, text);
  // The committed sample the dashboard checks read must not promise a field real lines lack.
  const real = new Set(lines.flatMap((l) => [...fieldsOf(l).keys()]));
  for (const field of logSampleFields(app)) assert.ok(real.has(field), `${LOG_SAMPLE_FILE} has ${field}, which the real log lines do not`);
});
