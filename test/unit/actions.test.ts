import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parsePayload } from '../../src/actions/payload.js';
import { RateLimiter } from '../../src/actions/rateLimiter.js';
import { DEFAULTS, LIMITS, parseUpdateRequest } from '../../src/actions/request.js';
import { decodeMultivalue, readIds } from '../../src/actions/results.js';
import { ALERT_TARGET, DETERMINATION_ALIASES, DETERMINATIONS, DETERMINATIONS_BY_CLASSIFICATION, INCIDENT_TARGET } from '../../src/actions/targets.js';
import { hasComment, patchBody } from '../../src/actions/update.js';
import { ConfigError } from '../../src/config/account.js';
import { parseConf } from '../../tools/conf.js';
import { ROOT } from '../../tools/harness.js';
import { DETERMINATIONS as GRAPH_DETERMINATIONS } from '../../tools/simulator/documents.js';

test('every determination offered is a member of Graph\'s alertDetermination enum', () => {
  for (const d of DETERMINATIONS) assert.ok((GRAPH_DETERMINATIONS as readonly string[]).includes(d), d);
  assert.ok(!DETERMINATIONS.includes('unknownFutureValue'));
  for (const list of Object.values(DETERMINATIONS_BY_CLASSIFICATION)) assert.ok(list.includes('unknown'));
});

test('parseUpdateRequest: defaults, trimming, case-insensitive enums, aliases, caps', () => {
  const r = parseUpdateRequest(ALERT_TARGET, { account: ' prod ', status: 'INPROGRESS', classification: 'truePositive', determination: 'compromisedUser', comment: '  ', assigned_to: 'x@y' });
  assert.deepEqual(r.fields, { status: 'inProgress', classification: 'truePositive', determination: 'compromisedAccount', assignedTo: 'x@y' });
  assert.equal(r.account, 'prod');
  assert.equal(r.comment, undefined);
  assert.equal(r.idField, DEFAULTS.idField);
  assert.equal(r.maxUpdates, DEFAULTS.maxUpdates);
  assert.equal(r.requestsPerMinute, DEFAULTS.requestsPerMinute);
  const capped = parseUpdateRequest(INCIDENT_TARGET, { account: 'a', add_tags: 'x, y,,x', max_updates: '999999', requests_per_minute: '999999' });
  assert.deepEqual(capped.addTags, ['x', 'y']);
  assert.equal(capped.maxUpdates, LIMITS.maxUpdates);
  assert.equal(capped.requestsPerMinute, LIMITS.requestsPerMinute);
});

test('parseUpdateRequest: every problem at once, each naming its setting', () => {
  const error = (() => {
    try {
      parseUpdateRequest(ALERT_TARGET, { status: 'active', classification: 'nope', add_tags: 't', comment: 'c'.repeat(1001) });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof ConfigError);
  for (const part of [/account: required/, /status: "active" is not one of new, inProgress, resolved/, /classification: "nope"/, /add_tags: Graph has no custom tags on alerts/, /comment: longer than 1000/]) {
    assert.match(error.message, part);
  }
  // Incident statuses differ from alert statuses.
  assert.equal(parseUpdateRequest(INCIDENT_TARGET, { account: 'a', status: 'active' }).fields.status, 'active');
  assert.throws(() => parseUpdateRequest(INCIDENT_TARGET, { account: 'a', status: 'redirected' }), /status: "redirected"/);
});

test('patchBody sends only what differs; tags are merged; comments are matched exactly', () => {
  const request = parseUpdateRequest(INCIDENT_TARGET, { account: 'a', status: 'resolved', assigned_to: 'me', add_tags: 'b,c' });
  assert.deepEqual(patchBody({ id: '1', status: 'resolved', assignedTo: null, customTags: ['a', 'b'] }, request), { assignedTo: 'me', customTags: ['a', 'b', 'c'] });
  assert.deepEqual(patchBody({ id: '1', status: 'resolved', assignedTo: 'me', customTags: ['c', 'b'] }, request), {});
  assert.ok(hasComment({ id: '1', comments: [{ comment: 'done' }] }, 'done'));
  assert.ok(!hasComment({ id: '1', comments: [{ comment: 'done.' }] }, 'done'));
});

test('decodeMultivalue reads Splunk\'s $v$;$v$ encoding with $$ escapes', () => {
  assert.deepEqual(decodeMultivalue('$a$;$b$'), ['a', 'b']);
  assert.deepEqual(decodeMultivalue('$cost $$5$;$x;y$'), ['cost $5', 'x;y']);
  assert.deepEqual(decodeMultivalue(''), []);
});

test('readIds: gzipped CSV with quotes, newlines and BOM; ids once each, in order; plain CSV too', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'results-'));
  const csv = '\ufeffid,__mv_id,title,__mv_title\n' +
    'a1,,"Title, with comma",\n' +
    '"a2\na3","$a2$;$a3$","multi\nline",\n' +
    'a1,,again,\n' +
    ',,no id,\n';
  const gz = path.join(dir, 'results.csv.gz');
  writeFileSync(gz, gzipSync(csv));
  assert.deepEqual(await readIds(gz, 'id'), { rows: 4, ids: ['a1', 'a2', 'a3'], rowsWithoutId: 1 });
  const plain = path.join(dir, 'results.csv');
  writeFileSync(plain, 'incidentId\n7\n8\n');
  assert.deepEqual((await readIds(plain, 'incidentId')).ids, ['7', '8']);
  await assert.rejects(readIds(path.join(dir, 'missing.csv.gz'), 'id'), /ENOENT/);
  writeFileSync(gz, 'not gzip');
  await assert.rejects(readIds(gz, 'id'), /incorrect header check/);
});

test('RateLimiter spaces requests evenly and honours a pause', async () => {
  let now = 0;
  const waits: number[] = [];
  const limiter = new RateLimiter(120, () => now, async (ms) => {
    waits.push(ms);
    now += ms;
  });
  for (let i = 0; i < 4; i++) await limiter.take();
  assert.deepEqual(waits, [500, 500, 500]);
  now += 2000; // idle time is not saved up into a burst beyond the next slot
  await limiter.take();
  assert.equal(waits.length, 3);
  limiter.pause(3000);
  await limiter.take();
  assert.equal(waits.at(-1), 3000);
  assert.equal(limiter.waitedMs, 4500);
});

test('parsePayload: splunkd\'s JSON payload, and clear errors for anything else', () => {
  const p = parsePayload(JSON.stringify({ server_uri: 'https://127.0.0.1:8089', session_key: 'k', results_file: '/r.csv.gz', configuration: { account: 'a' }, result: { id: 'x', n: 3, mv: ['a', 'b'] }, sid: 's' }));
  assert.equal(p.resultsFile, '/r.csv.gz');
  assert.deepEqual(p.result, { id: 'x', n: '3', mv: 'a\nb' });
  assert.throws(() => parsePayload(''), /not JSON \(empty\).*payload_format = json/);
  assert.throws(() => parsePayload('{"configuration":{}}'), /lacks server_uri or session_key/);
  assert.throws(() => parsePayload('{"server_uri":"u","session_key":"k"}'), /lacks its configuration/);
});

test('restmap.conf save-time checks accept exactly what the actions accept', () => {
  const restmap = parseConf(readFileSync(path.join(ROOT, 'default/restmap.conf'), 'utf8')).get('validation:savedsearch')!;
  const pattern = (action: string, param: string): RegExp => {
    const rule = restmap.get(`action.${action}.param.${param}`);
    assert.ok(rule, `no rule for ${action} ${param}`);
    const [, flags, body] = /match\('[^']+', "(\(\?i\))?([^"]+)"\)/.exec(rule)!;
    return new RegExp(body!, flags ? 'i' : '');
  };
  for (const target of [ALERT_TARGET, INCIDENT_TARGET]) {
    const status = pattern(target.action, 'status');
    for (const s of ['', ...target.statuses]) assert.match(s, status);
    assert.doesNotMatch(target === ALERT_TARGET ? 'active' : 'new', status);
    assert.doesNotMatch('unknownFutureValue', status);
    const determination = pattern(target.action, 'determination');
    for (const d of [...DETERMINATIONS, ...Object.keys(DETERMINATION_ALIASES)]) assert.match(d, determination);
    assert.doesNotMatch('unknownFutureValue', determination);
    const classification = pattern(target.action, 'classification');
    for (const c of Object.keys(DETERMINATIONS_BY_CLASSIFICATION)) assert.match(c, classification);
    assert.match('42', pattern(target.action, 'max_updates'));
    assert.doesNotMatch('0', pattern(target.action, 'max_updates'));
    assert.doesNotMatch('-5', pattern(target.action, 'requests_per_minute'));
  }
});

test('the shipped defaults agree with the code, and a default run fits in the time budget', async () => {
  const { TIME_BUDGET_MS } = await import('../../src/actions/runAction.js');
  const conf = parseConf(readFileSync(path.join(ROOT, 'default/alert_actions.conf'), 'utf8'));
  for (const target of [ALERT_TARGET, INCIDENT_TARGET]) {
    const stanza = conf.get(target.action)!;
    assert.equal(Number(stanza.get('param.max_updates')), DEFAULTS.maxUpdates);
    assert.equal(Number(stanza.get('param.requests_per_minute')), DEFAULTS.requestsPerMinute);
    assert.equal(stanza.get('param.id_field'), DEFAULTS.idField);
  }
  // Up to three calls per id (read, update, comment), evenly spaced.
  assert.ok((DEFAULTS.maxUpdates * 3 * 60_000) / DEFAULTS.requestsPerMinute < TIME_BUDGET_MS);
});
