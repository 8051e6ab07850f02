/**
 * The configuration page's health: its search reads only fields the add-on's log lines have; the
 * status rules (precedence, thresholds, accounts); and the search-head stand-in that answers it
 * (role, time range, eventcount, refusals), over lines written by the add-on's own log writer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { formatLine } from '../../src/splunk/log.js';
import { ADDON_LOG_NAME, LogFile } from '../../src/splunk/logFile.js';
import { accountVerdict, ACCESS_PROBE, duration, HEALTH_SEARCH, inputVerdict, lagThresholdS, parseHealthRows, type HealthRow } from '../../src/ui/healthModel.js';
import { ROOT } from '../../tools/harness.js';
import { SearchHeadStandIn } from '../../tools/simulator/search.js';
import { availableFields, confOf, fieldsBySourcetype } from '../helpers/dashboards.js';
import { analyse, expandMacros } from '../helpers/spl.js';

const NOW = 1_800_000_000;
const base: HealthRow = { input: 'defender_xdr_alerts://a', lastRun: NOW - 60, lastOutcome: 'success', lastSuccess: NOW - 60, events: 5, checkpointLagS: 30, throttled: 0, waitedMs: 0 };
const enabled = { disabled: false, interval: '300' };

describe('the health search', () => {
  test('reads only fields the add-on log lines have (or that it makes)', () => {
    const { text } = expandMacros(HEALTH_SEARCH, confOf('macros.conf'));
    const result = analyse(text.replace(/^search /, ''), availableFields(text, fieldsBySourcetype()));
    assert.deepEqual(result.problems, []);
    for (const f of ['input', 'last_run', 'last_outcome', 'events', 'checkpoint_lag_s', 'throttled', 'last_error', 'last_error_kind', 'account', 'last_token', 'last_auth_error']) assert.ok(result.output?.has(f), f);
  });
});

describe('input status', () => {
  test('disabled, never ran, failing, throttled, behind, ok: in that order', () => {
    assert.equal(inputVerdict({ ...base, lastOutcome: 'failure' }, { disabled: true, interval: '300' }, NOW).status, 'disabled');
    assert.equal(inputVerdict(undefined, enabled, NOW).status, 'never');
    const failing = inputVerdict({ ...base, lastOutcome: 'failure', throttled: 3, lastError: 'Poll failed: no', lastErrorKind: 'permission' }, enabled, NOW);
    assert.equal(failing.status, 'failing');
    assert.equal(failing.error, 'Poll failed: no');
    assert.match(failing.fix ?? '', /API permission/);
    assert.equal(inputVerdict({ ...base, throttled: 2, checkpointLagS: 99_999 }, enabled, NOW).status, 'throttled');
    assert.equal(inputVerdict({ ...base, checkpointLagS: 901 }, enabled, NOW).status, 'behind');
    assert.equal(inputVerdict(base, enabled, NOW).status, 'ok');
  });

  test('behind means a lag above 3 intervals, never below 15 min; a cron interval counts as 300 s', () => {
    assert.equal(lagThresholdS('60'), 900);
    assert.equal(lagThresholdS('3600'), 10_800);
    assert.equal(lagThresholdS('*/5 * * * *'), 900);
    assert.equal(inputVerdict({ ...base, checkpointLagS: 10_800 }, { disabled: false, interval: '3600' }, NOW).status, 'ok');
    const behind = inputVerdict({ ...base, checkpointLagS: 10_801 }, { disabled: false, interval: '3600' }, NOW);
    assert.equal(behind.status, 'behind');
    assert.match(behind.summary.replace(/\u00a0/g, ' '), /3 h behind .*threshold 3 h/);
  });

  test('durations', () => {
    assert.deepEqual([5, 300, 3 * 3600 + 600, 2 * 86_400 + 4 * 3600].map((s) => duration(s).replace(/\u00a0/g, ' ')), ['5 s', '5 min', '3 h 10 min', '2 d 4 h']);
  });
});

describe('account status', () => {
  test('a later token clears an earlier Entra error; a later error shows its text', () => {
    assert.equal(accountVerdict([], NOW).status, 'never');
    const failing = accountVerdict([{ ...base, lastToken: NOW - 600, lastAuthErrorTime: NOW - 60, lastAuthError: 'Poll failed: AADSTS7000215' }], NOW);
    assert.equal(failing.status, 'failing');
    assert.equal(failing.error, 'Poll failed: AADSTS7000215');
    assert.equal(accountVerdict([{ ...base, lastToken: NOW - 60, lastAuthErrorTime: NOW - 600, lastAuthError: 'x' }], NOW).status, 'ok');
    assert.equal(accountVerdict([{ ...base, lastToken: undefined }], NOW).status, 'unknown');
  });
});

describe('the search-head stand-in', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ta-health-'));
  const file = path.join(dir, ADDON_LOG_NAME);
  const at = (msAgo: number) => new Date(Date.now() - msAgo);
  const line = (msAgo: number, level: 'INFO' | 'ERROR', message: string, fields: Record<string, string | number>) => new LogFile(file, { now: () => at(msAgo) }).write(formatLine(level, message, fields));
  line(30 * 3600_000, 'INFO', 'Poll finished', { input: 'defender_xdr_alerts://old', outcome: 'success', emitted: 9 });
  line(120_000, 'ERROR', 'Poll failed: The client secret is wrong.', { input: 'defender_xdr_alerts://a', account: 'acc', outcome: 'failure', error_kind: 'auth', requests: 1, token_failures: 1 });
  line(60_000, 'INFO', 'Poll finished', { input: 'defender_xdr_alerts://a', account: 'acc', outcome: 'success', emitted: 7, checkpoint_lag_s: 3, throttled: 1, waited_ms: 500, requests: 3, token_failures: 0 });
  line(30_000, 'INFO', 'Poll finished', { input: 'defender_xdr_incidents://b', account: 'acc', outcome: 'success', emitted: 2, checkpoint_lag_s: 1, throttled: 0, waited_ms: 0, requests: 2, token_failures: 0 });
  const head = new SearchHeadStandIn(ROOT);
  head.monitor(file);
  const oneshot = (search: string, extra: Record<string, string> = {}) => head.jobs(new URLSearchParams({ search, exec_mode: 'oneshot', earliest_time: '-24h', latest_time: 'now', ...extra }));

  test('evaluates the page search over the indexed lines, within the time range', () => {
    const answer = oneshot(HEALTH_SEARCH);
    assert.equal(answer.status, 200);
    const rows = parseHealthRows((JSON.parse(answer.body) as { results: Record<string, string>[] }).results);
    assert.deepEqual([...rows.keys()], ['defender_xdr_alerts://a', 'defender_xdr_incidents://b'], 'the 30 h old line is outside -24h');
    const a = rows.get('defender_xdr_alerts://a')!;
    assert.equal(a.lastOutcome, 'success');
    assert.equal(a.events, 7);
    assert.equal(a.throttled, 1);
    assert.equal(a.lastError, 'Poll failed: The client secret is wrong.');
    assert.equal(a.lastErrorKind, 'auth');
    assert.ok(a.lastToken! > a.lastAuthErrorTime!, 'the success after the auth error got a token');
    assert.equal(inputVerdict(a, enabled, Date.now() / 1000).status, 'throttled');
    assert.equal(accountVerdict([...rows.values()], Date.now() / 1000).status, 'ok');
    // A different query gives a different answer: nothing is canned.
    const counted = JSON.parse(oneshot('search `defender_xdr_log` outcome=success | stats count by input', { earliest_time: '-48h' }).body) as { results: Record<string, string>[] };
    assert.deepEqual(counted.results.map((r) => [r.input, r.count]), [['defender_xdr_alerts://a', '1'], ['defender_xdr_alerts://old', '1'], ['defender_xdr_incidents://b', '1']]);
  });

  test("a role without internal indexes gets no event and no error; eventcount leaves _internal out", () => {
    head.searchIndexesAllowed = ['*'];
    try {
      const answer = oneshot(HEALTH_SEARCH);
      assert.equal(answer.status, 200);
      assert.deepEqual((JSON.parse(answer.body) as { results: unknown[] }).results, []);
      assert.deepEqual((JSON.parse(oneshot(ACCESS_PROBE).body) as { results: unknown[] }).results, []);
      assert.deepEqual((JSON.parse(oneshot('| eventcount summarize=false index=*').body) as { results: { index: string }[] }).results.map((r) => r.index), ['main']);
    } finally {
      head.searchIndexesAllowed = ['*', '_*'];
    }
    assert.deepEqual((JSON.parse(oneshot(ACCESS_PROBE).body) as { results: { index: string }[] }).results.map((r) => r.index), ['_internal']);
  });

  test('refuses what it does not model, as splunkd refuses a bad search', () => {
    assert.equal(oneshot('search `defender_xdr_log` | transaction input').status, 400);
    assert.match(JSON.parse(oneshot('search `no_such_macro`').body).messages[0].text, /no_such_macro/);
    assert.equal(head.jobs(new URLSearchParams({ search: 'search index=_internal', exec_mode: 'normal' })).status, 400);
    assert.equal(oneshot('search index=_internal', { earliest_time: '@d' }).status, 400);
    assert.equal(oneshot('search index=_internal earliest=-1h').status, 400);
  });
});
