/**
 * Tokens kept between polls (src/microsoft/tokenCache.ts), through the built alerts input started
 * by its launcher with SPLUNK_HOME set, as splunkd starts it: a second poll asks Entra ID for no
 * token; an API's 401 (a revoked or expired token) or 403 to a kept token costs one fresh token and
 * the poll succeeds; a changed secret cannot read the kept token; without SPLUNK_HOME nothing is kept.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseStream, runConfigXml, runInputProcess } from '../../tools/harness.js';
import { useStandIns } from '../helpers/standIns.js';

let home: string;
const s = useStandIns({
  built: 'defender_xdr_alerts.js',
  setUp: ({ workDir }) => {
    home = path.join(workDir, 'splunk-home');
    mkdirSync(home);
  },
});

const tokenDir = () => path.join(home, 'var', 'run', 'TA-defender-xdr', 'tokens');
const tokenRequests = (from: number) => s.graph.requests.slice(from).filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
const listRequests = (from: number) => s.graph.requests.slice(from).filter((r) => r.path.endsWith('/security/alerts_v2'));

/** One quiet poll of a stanza (its checkpoint kept across calls); the token requests it made. */
async function poll(cp: string, env: Record<string, string> = { SPLUNK_HOME: home }): Promise<{ tokens: number; lists: number; stderr: string }> {
  const from = s.graph.requests.length;
  const r = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'cached', { account: 'prod', start_date: new Date(Date.now() - 60_000).toISOString() }, cp), { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /INFO Poll finished .*outcome=success/);
  assert.ok(!r.stderr.includes(s.clientSecret) && !/Bearer\s+ey/.test(r.stderr), 'a secret or token in the log');
  return { tokens: tokenRequests(from), lists: listRequests(from).length, stderr: r.stderr };
}

test('the second poll reuses the kept token: no token request, and the token is not on disk in clear', async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  const first = await poll(cp);
  assert.equal(first.tokens, 1);
  assert.match(first.stderr, /token_requests=1 token_cache_hits=0/);
  const second = await poll(cp);
  assert.equal(second.tokens, 0, 'the second poll asked Entra ID for a token');
  assert.equal(second.lists, 1);
  assert.match(second.stderr, /token_requests=0 token_cache_hits=1/);
  const files = readdirSync(tokenDir());
  assert.equal(files.length, 1, files.join());
  assert.equal(statSync(tokenDir()).mode & 0o777, 0o700);
  assert.equal(statSync(path.join(tokenDir(), files[0])).mode & 0o777, 0o600);
  // The simulator's tokens are JWTs: in clear, the file would hold their 'eyJ' header.
  const bytes = readFileSync(path.join(tokenDir(), files[0]));
  assert.equal(bytes.includes('eyJ'), false, 'a JWT in the file');
});

test('a 401 to the kept token (revoked or expired early) costs one fresh token, and the poll succeeds', async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  await poll(cp);
  assert.equal((await poll(cp)).tokens, 0);
  // As after a revocation: every token issued so far is refused by the API.
  s.graph.expireTokens();
  const from = s.graph.requests.length;
  const rejected = await poll(cp);
  assert.equal(rejected.tokens, 1);
  assert.deepEqual(listRequests(from).map((r) => r.status), [401, 200]);
  assert.match(rejected.stderr, /token_requests=1 token_cache_hits=1 token_failures=0 token_rejected=1/);
  // The fresh token is kept in its place.
  assert.equal((await poll(cp)).tokens, 0);
});

test('a 403 to a kept token is asked again with a fresh one (roles may have changed), once', async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  await poll(cp);
  s.graph.faults.push({ match: /\/security\/alerts_v2/, fault: { kind: 'status', status: 403 }, times: 1 });
  const from = s.graph.requests.length;
  const denied = await poll(cp);
  assert.equal(denied.tokens, 1);
  assert.deepEqual(listRequests(from).map((r) => r.status), [403, 200]);
  // A 403 to a fresh token is the app's permissions: reported, not retried.
  s.graph.faults.push({ match: /\/security\/alerts_v2/, fault: { kind: 'status', status: 403 }, times: 2 });
  const fromAgain = s.graph.requests.length;
  const r = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'cached', { account: 'prod', start_date: new Date().toISOString() }, cp), { env: { SPLUNK_HOME: home } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /denied access \(403/);
  assert.deepEqual(listRequests(fromAgain).map((x) => x.status), [403, 403], 'kept token, then one fresh one');
  assert.equal(tokenRequests(fromAgain), 1);
  s.graph.faults.length = 0;
});

test('a changed secret cannot read the kept token: a fresh one is fetched with the new secret', async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  await poll(cp);
  assert.equal((await poll(cp)).tokens, 0);
  const rotated = `${s.clientSecret}-rotated`;
  s.graph.apps[0].clientSecret = rotated;
  s.splunkd.setPassword('TA-defender-xdr', 'TA-defender-xdr', 'prod', rotated);
  try {
    const after = await poll(cp);
    assert.equal(after.tokens, 1);
    assert.match(after.stderr, /token_requests=1 token_cache_hits=0/);
    assert.equal((await poll(cp)).tokens, 0);
  } finally {
    s.graph.apps[0].clientSecret = s.clientSecret;
    s.splunkd.setPassword('TA-defender-xdr', 'TA-defender-xdr', 'prod', s.clientSecret);
  }
});

test('without SPLUNK_HOME no token is kept: every poll asks for one', async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  assert.equal((await poll(cp, {})).tokens, 1);
  assert.equal((await poll(cp, {})).tokens, 1);
});

test("a clock that jumped ahead since the token was kept: the mark stays at Microsoft's time, nothing is lost", async () => {
  const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
  const params = { account: 'prod', start_date: new Date(Date.now() - 3_600_000).toISOString(), reread_window: '60' };
  const run = () => runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'clock', params, cp), { env: { SPLUNK_HOME: home } });
  const mark = () => Date.parse(JSON.parse(readFileSync(path.join(cp, readdirSync(cp).find((f) => f.endsWith('.json'))!), 'utf8')).highWaterMark.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  s.graph.alerts.clear();
  assert.equal((await run()).code, 0);
  // The token (and the clock reading taken with it, none ahead) is kept. Now this host's clock runs
  // 10 minutes ahead of Microsoft's: the kept reading no longer says so.
  s.graph.dateOffsetMs = -600_000;
  try {
    const from = s.graph.requests.length;
    const jumped = await run();
    assert.equal(jumped.code, 0, jumped.stderr);
    assert.equal(tokenRequests(from), 0, 'the kept token was used');
    assert.ok(mark() <= Date.now() - 590_000, `the mark ${new Date(mark()).toISOString()} went past Microsoft's now`);
    assert.match(jumped.stderr, /WARN This host's clock moved ahead of Microsoft's/);
  } finally {
    s.graph.dateOffsetMs = 0;
  }
  // A change Microsoft makes after that poll, 8 minutes before this host's time: read by the next poll.
  const [late] = s.graph.addAlerts(1, { at: new Date(Date.now() - 480_000) });
  const from = s.graph.requests.length;
  const next = await run();
  assert.equal(next.code, 0, next.stderr);
  assert.equal(tokenRequests(from), 1, 'the kept token (and its clock reading) was dropped');
  assert.ok(parseStream(next.stdout).some((e) => JSON.parse(e.data).id === late.id), 'the late change was lost');
});
