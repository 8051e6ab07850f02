/**
 * End to end: the scheduled hunting input (defender_xdr_hunting), built and started through its
 * launcher as splunkd starts it, against the simulator's runHuntingQuery (rows with Timestamp and
 * ingestion time, Timespan, the row cap, CPU throttling, timeouts, KQL errors).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { parseStream, runConfigXml, runInputProcess, validateConfigXml, type StreamEvent } from '../../tools/harness.js';
import { HuntingApi } from '../../tools/simulator/hunting.js';
import { parseReportMessage } from '../../src/connection/report.js';
import { useStandIns } from '../helpers/standIns.js';

const SCHEME = 'defender_xdr_hunting';
const HOUR = 3_600_000;
const QUERY = 'DeviceProcessEvents | where ActionType == "ProcessCreated"';

const s = useStandIns({ built: `${SCHEME}.js` });
beforeEach(() => {
  // A fresh tenant for each test: no rows, Microsoft's default quotas.
  const fresh = new HuntingApi();
  s.graph.hunting.clear();
  Object.assign(s.graph.hunting, { rowCap: fresh.rowCap, timeoutMs: fresh.timeoutMs, callsPerMinute: fresh.callsPerMinute, callsWindowMs: fresh.callsWindowMs, cpuBudgetMs: fresh.cpuBudgetMs, cpuCycleMs: fresh.cpuCycleMs, msPerScannedRow: fresh.msPerScannedRow });
});

const newCheckpointDir = () => mkdtempSync(path.join(s.workDir, 'hunt-cp-'));
const reportIds = (events: StreamEvent[]) => events.map((e) => JSON.parse(e.data).ReportId as number);
const checkpointText = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('');

function params(extra: Record<string, string> = {}): Record<string, string> {
  return { account: 'prod', query: QUERY, start_date: new Date(Date.now() - 25 * HOUR).toISOString(), ingestion_lag: '0', index: 'hunting', ...extra };
}

async function runOnce(name: string, p: Record<string, string>, checkpointDir: string, opts: { killAfterStdoutBytes?: number } = {}) {
  const result = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, p, checkpointDir), opts);
  return { ...result, events: parseStream(result.stdout, { complete: opts.killAfterStdoutBytes === undefined }) };
}

/** A field of the run's "Poll finished" line. */
function summaryField(stderr: string, field: string): string | undefined {
  const line = stderr.split('\n').find((l) => l.includes('Poll finished'));
  return line ? new RegExp(`(?:^| )${field}=(\\S+)`).exec(line)?.[1] : undefined;
}

function assertNoSecrets(...texts: string[]): void {
  for (const text of texts) {
    assert.ok(!text.includes(s.clientSecret), 'client secret leaked');
    assert.ok(!text.includes(s.sessionKey), 'session key leaked');
  }
}

describe('scheduled hunting input', () => {
  test('backfills a day once, typed columns at the top level, _time from Timestamp; incremental runs add only new rows', async () => {
    const now = Date.now();
    const rows = s.graph.hunting.addProcessEvents(600, now - 24 * HOUR, now - 60_000, 30_000);
    const cp = newCheckpointDir();
    const first = await runOnce('day', params(), cp);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.events.length, 600);
    assert.deepEqual(new Set(reportIds(first.events)), new Set(rows.map((r) => r.columns.ReportId)));
    const event = first.events[0]!;
    const doc = JSON.parse(event.data);
    assert.equal(event.sourcetype, 'ms:defender:hunting');
    assert.equal(event.source, 'DeviceProcessEvents');
    assert.equal(event.index, 'hunting');
    assert.equal(event.time, Math.floor(Date.parse(doc.Timestamp.replace(/(\.\d{3})\d+Z$/, '$1Z'))) / 1000);
    assert.equal(typeof doc.ProcessId, 'number');
    assert.equal(typeof doc.AdditionalFields, 'object');
    assert.match(doc.IngestionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    assert.match(first.stderr, /^INFO Poll finished .*emitted=600 .*cpu_throttled_ms=0/m);
    // The window went to Graph both as Timespan and in the KQL, at table level.
    const call = s.graph.hunting.calls.at(-1)!;
    assert.match(call.timespan ?? '', /^\d{4}-.*Z\/\d{4}-.*Z$/);
    assert.match(call.query, /^DeviceProcessEvents\n\| where Timestamp >= datetime\(.*\) and ingestion_time\(\) > datetime\(.*\) and ingestion_time\(\) <= datetime\(.*\)\n\| extend IngestionTime = ingestion_time\(\)\n\| where ActionType == "ProcessCreated"$/);
    const posted = s.graph.requests.filter((r) => r.path === '/v1.0/security/runHuntingQuery').at(-1)!;
    assert.equal(posted.method, 'POST');
    assert.equal(posted.headers['content-type'], 'application/json; charset=utf-8');
    assertNoSecrets(first.stdout, first.stderr, checkpointText(cp));

    const quiet = await runOnce('day', params(), cp);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.events.length, 0);

    const later = s.graph.hunting.addProcessEvents(40, Date.now() - 50_000, Date.now() - 10_000, 5_000);
    const third = await runOnce('day', params(), cp);
    assert.deepEqual(reportIds(third.events).sort(), later.map((r) => r.columns.ReportId).sort());
    // The re-read window read rows emitted by the previous run again; they were dropped.
    const again = await runOnce('day', params(), cp);
    assert.equal(again.events.length, 0);
    assert.ok(Number(summaryField(again.stderr, 'skipped_duplicates')) > 0, again.stderr);

    // A changed query starts again from start_date.
    const changed = await runOnce('day', params({ query: 'DeviceProcessEvents | where FileName =~ "POWERSHELL.EXE"' }), cp);
    assert.equal(changed.events.length, 640 / 4);
    assert.match(changed.stderr, /query changed since the last run/);
  });

  test('rows ingested late (within max_lateness) are emitted exactly once; later ones are beyond the bound', async () => {
    const now = Date.now();
    s.graph.hunting.addProcessEvents(100, now - 6 * HOUR, now - 5 * 60_000);
    const cp = newCheckpointDir();
    const first = await runOnce('late', params({ max_lateness: '7200' }), cp);
    assert.equal(first.events.length, 100);
    // Ingested now, but stamped 90 minutes and 3 hours ago: their time windows have passed.
    const within = s.graph.hunting.addRows('DeviceProcessEvents', [
      { Timestamp: new Date(Date.now() - 90 * 60_000), ingested: new Date(Date.now() - 1000), ReportId: 900_001, ActionType: 'ProcessCreated' },
    ]);
    const beyond = s.graph.hunting.addRows('DeviceProcessEvents', [
      { Timestamp: new Date(Date.now() - 3 * HOUR), ingested: new Date(Date.now() - 1000), ReportId: 900_002, ActionType: 'ProcessCreated' },
    ]);
    const second = await runOnce('late', params({ max_lateness: '7200' }), cp);
    assert.deepEqual(reportIds(second.events), [within[0]!.columns.ReportId]);
    assert.ok(!reportIds(second.events).includes(beyond[0]!.columns.ReportId as number));
    const third = await runOnce('late', params({ max_lateness: '7200' }), cp);
    assert.equal(third.events.length, 0, 'a late row is emitted once');
  });

  test('a window that returns the row cap is split and asked again; a timeout splits too', async () => {
    s.graph.hunting.rowCap = 100;
    const now = Date.now();
    const rows = s.graph.hunting.addProcessEvents(450, now - 20 * HOUR, now - 60_000);
    const r = await runOnce('cap', params({ row_limit: '100' }), newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 450);
    assert.equal(new Set(reportIds(r.events)).size, 450);
    assert.ok(Number(summaryField(r.stderr, 'splits')) >= 3, r.stderr);
    assert.ok(s.graph.hunting.calls.some((c) => c.rows === 100));
    assert.ok(rows.length === 450);

    s.graph.hunting.clear();
    s.graph.hunting.rowCap = 100_000;
    s.graph.hunting.timeoutMs = 300;
    s.graph.hunting.msPerScannedRow = 1;
    s.graph.hunting.addProcessEvents(800, now - 20 * HOUR, now - 60_000);
    const t = await runOnce('timeout', params({ max_lateness: '60' }), newCheckpointDir());
    assert.equal(t.code, 0, t.stderr);
    assert.equal(new Set(reportIds(t.events)).size, 800);
    assert.equal(t.events.length, 800);
    assert.ok(s.graph.hunting.calls.some((c) => c.status === 504));
    assert.ok(Number(summaryField(t.stderr, 'splits')) >= 2, t.stderr);
  });

  test('429s for CPU and for calls are waited out as Microsoft says and reported as cpu_throttled_ms and calls_throttled_ms', async () => {
    const now = Date.now();
    s.graph.hunting.addProcessEvents(50, now - 2 * HOUR, now - 60_000);
    s.graph.hunting.exhaustCpu(2000);
    const r = await runOnce('cpu', params(), newCheckpointDir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.events.length, 50);
    assert.ok(s.graph.hunting.calls.length >= 1);
    assert.match(r.stderr, /WARN Hunting query throttled.* reason=cpu/);
    assert.ok(Number(summaryField(r.stderr, 'cpu_throttled_ms')) >= 1000, r.stderr);

    // The calls quota: 2 calls per 2 s here; the row cap makes the run ask 3 times or more.
    s.graph.hunting.cpuBudgetMs = Infinity;
    s.graph.hunting.rowCap = 20;
    s.graph.hunting.callsPerMinute = 2;
    s.graph.hunting.callsWindowMs = 2000;
    const calls = await runOnce('calls', params({ row_limit: '20' }), newCheckpointDir());
    assert.equal(calls.code, 0, calls.stderr);
    assert.equal(new Set(reportIds(calls.events)).size, 50);
    assert.equal(calls.events.length, 50);
    assert.match(calls.stderr, /WARN Hunting query throttled.* reason=calls/);
    assert.ok(Number(summaryField(calls.stderr, 'calls_throttled_ms')) >= 1000, calls.stderr);
  });

  test('a bad query is refused at validation and fails a run with Microsoft\'s message, the checkpoint untouched', async () => {
    const validate = (p: Record<string, string>) => runInputProcess(SCHEME, ['--validate-arguments'], validateConfigXml(s, 'v', p));
    const message = (stdout: string) => new XMLParser().parse(stdout).error?.message as string;
    const good = await validate({ account: 'prod', query: QUERY });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const syntax = await validate({ account: 'prod', query: 'DeviceProcessEvents | wher FileName == "x"' });
    assert.notEqual(syntax.code, 0);
    assert.match(message(syntax.stdout), /Microsoft refused the query: Query could not be parsed at 'wher'/);
    const noTable = await validate({ account: 'prod', query: 'let x = 1; DeviceProcessEvents' });
    assert.match(message(noTable.stdout), /must start with a table name/);
    const projected = await validate({ account: 'prod', query: 'DeviceProcessEvents | project DeviceName' });
    assert.match(message(projected.stdout), /drop the IngestionTime column/);
    s.graph.revokeRole(s.clientId, 'ThreatHunting.Read.All');
    try {
      const denied = await validate({ account: 'prod', query: QUERY });
      assert.match(message(denied.stdout), /ThreatHunting\.Read\.All/);
    } finally {
      s.graph.grantRole(s.clientId, 'ThreatHunting.Read.All');
    }

    s.graph.hunting.addProcessEvents(20, Date.now() - HOUR, Date.now() - 60_000);
    const cp = newCheckpointDir();
    const ok = await runOnce('bad', params(), cp);
    assert.equal(ok.events.length, 20, ok.stderr);
    const before = checkpointText(cp);
    s.graph.hunting.addProcessEvents(5, Date.now() - 30_000, Date.now() - 10_000, 1000);
    const bad = await runOnce('bad', params({ query: 'DeviceProcessEvents | where FileName = "x"' }), cp);
    assert.equal(bad.code, 1);
    assert.equal(bad.events.length, 0);
    assert.match(bad.stderr, /ERROR Poll failed: Query could not be parsed at '='/);
    assert.equal(checkpointText(cp), before);
    const resumed = await runOnce('bad', params(), cp);
    assert.equal(resumed.events.length, 5);
  });

  test('kill -9 mid-run loses nothing: the next run re-reads from the last saved window', async () => {
    s.graph.hunting.rowCap = 60;
    // A large tenant: the ~40 calls of these runs stay within its calls-per-minute quota.
    s.graph.hunting.callsPerMinute = 1000;
    const now = Date.now();
    const rows = s.graph.hunting.addProcessEvents(1200, now - 20 * HOUR, now - 60_000);
    const cp = newCheckpointDir();
    const p = params({ row_limit: '60' });
    const killed = await runOnce('kill', p, cp, { killAfterStdoutBytes: 60_000 });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(killed.events.length > 0 && killed.events.length < 1200, String(killed.events.length));
    const rest = await runOnce('kill', p, cp);
    assert.equal(rest.code, 0, rest.stderr);
    const all = [...reportIds(killed.events), ...reportIds(rest.events)];
    assert.deepEqual(new Set(all), new Set(rows.map((r) => r.columns.ReportId)));
    // Repeats are at most the rows of the window being written when the process died.
    assert.ok(all.length - 1200 <= 60, `${all.length - 1200} repeated`);
  });

  test('Test connection checks ThreatHunting.Read.All with a hunting call, and names it when missing', async () => {
    const connectionTest = async () => {
      const r = await runInputProcess('defender_xdr_connection_test', ['--validate-arguments'], validateConfigXml(s, 'ct', { account: 'prod' }));
      return parseReportMessage(new XMLParser().parse(r.stdout).error?.message as string)!;
    };
    const title = 'ThreatHunting.Read.All: POST /v1.0/security/runHuntingQuery';
    const ok = await connectionTest();
    assert.equal(ok.steps.find((step) => step.title === title)?.ok, true, JSON.stringify(ok));
    s.graph.revokeRole(s.clientId, 'ThreatHunting.Read.All');
    try {
      const denied = await connectionTest();
      const step = denied.steps.find((x) => x.title === title);
      assert.equal(step?.ok, false);
      assert.match(step?.message ?? '', /Grant the application permission ThreatHunting\.Read\.All/);
    } finally {
      s.graph.grantRole(s.clientId, 'ThreatHunting.Read.All');
    }
  });
});
