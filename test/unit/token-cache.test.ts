/**
 * The token cache (src/microsoft/tokenCache.ts): tokens kept between polls, encrypted under a key
 * derived from the account's secret. Whatever goes wrong is a miss, never a wrong token; the file
 * never holds the token in clear; and a TokenProvider serves a kept token without loading msal.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HttpClient } from '../../src/http/client.js';
import { TokenProvider } from '../../src/microsoft/auth.js';
import { MIN_REMAINING_MS, TokenCache, tokenCacheDir, type TokenCacheIdentity } from '../../src/microsoft/tokenCache.js';
import { notPastServerTime } from '../../src/sources/windowedPoll.js';
import { fromEpochMs } from '../../src/microsoft/timestamps.js';
import { createLogger } from '../../src/splunk/log.js';

const GRAPH = 'https://graph.microsoft.com';
const MDE = 'https://api.securitycenter.microsoft.com';
const identity: TokenCacheIdentity = {
  account: 'prod',
  tenantId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  loginUrl: 'https://login.microsoftonline.com',
  secret: 'Canary~the-client-secret-value',
};
/** A JWT-looking token: the test checks that none of it reaches the disk. */
const TOKEN = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ aud: GRAPH, exp: 2_000_000_000 })).toString('base64url')}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg`;
const hour = () => Date.now() + 3_600_000;

function freshDir(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'token-cache-')), 'var', 'run', 'TA-defender-xdr', 'tokens');
}

test('only under SPLUNK_HOME, never elsewhere', () => {
  assert.equal(tokenCacheDir({}), undefined);
  assert.equal(tokenCacheDir({ SPLUNK_HOME: '  ' }), undefined);
  assert.equal(tokenCacheDir({ SPLUNK_HOME: '/opt/splunk' }), path.join('/opt/splunk', 'var', 'run', 'TA-defender-xdr', 'tokens'));
});

test('round trip per resource; folder 0700, file 0600; the token is nowhere in the file', () => {
  const dir = freshDir();
  const cache = new TokenCache(dir, identity);
  assert.equal(cache.read(GRAPH), undefined, 'nothing kept yet');
  const expiresOnMs = hour();
  cache.write(GRAPH, { token: TOKEN, expiresOnMs, skewMs: 4200 });
  assert.deepEqual(new TokenCache(dir, identity).read(GRAPH), { token: TOKEN, expiresOnMs, skewMs: 4200 });
  assert.equal(cache.read(MDE), undefined, 'another resource is another entry');
  const files = readdirSync(dir);
  assert.equal(files.length, 1, files.join());
  assert.match(files[0], /^[0-9a-f]{40}\.token$/, 'named by a hash: no account, tenant or resource in the listing');
  if (process.platform !== 'win32') {
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path.join(dir, files[0])).mode & 0o777, 0o600);
  }
  const bytes = readFileSync(path.join(dir, files[0]));
  for (const part of [...TOKEN.split('.'), 'eyJ', identity.tenantId, identity.clientId, identity.secret]) {
    assert.equal(bytes.includes(part), false, `"${part.slice(0, 12)}…" is in the file`);
    assert.equal(bytes.includes(Buffer.from(part).toString('base64')), false, `"${part.slice(0, 12)}…" is in the file as base64`);
  }
});

test('another secret, tenant, client or account cannot read the entry: a miss', () => {
  const dir = freshDir();
  new TokenCache(dir, identity).write(GRAPH, { token: TOKEN, expiresOnMs: hour() });
  assert.equal(new TokenCache(dir, { ...identity, secret: 'Canary~a-rotated-secret' }).read(GRAPH), undefined);
  assert.equal(new TokenCache(dir, { ...identity, tenantId: '33333333-3333-3333-3333-333333333333' }).read(GRAPH), undefined);
  assert.equal(new TokenCache(dir, { ...identity, clientId: '44444444-4444-4444-4444-444444444444' }).read(GRAPH), undefined);
  assert.equal(new TokenCache(dir, { ...identity, account: 'other' }).read(GRAPH), undefined);
  // A file moved under another entry's name is refused too (the name and the key both bind the resource).
  const [file] = readdirSync(dir);
  new TokenCache(dir, identity).write(MDE, { token: 'mde-token', expiresOnMs: hour() });
  const mdeFile = readdirSync(dir).find((f) => f !== file)!;
  writeFileSync(path.join(dir, mdeFile), readFileSync(path.join(dir, file)));
  assert.equal(new TokenCache(dir, identity).read(MDE), undefined);
  assert.equal(new TokenCache(dir, identity).read(GRAPH)?.token, TOKEN);
});

test('a corrupt, cut, empty or foreign file is a miss', () => {
  const dir = freshDir();
  const cache = new TokenCache(dir, identity);
  cache.write(GRAPH, { token: TOKEN, expiresOnMs: hour() });
  const file = path.join(dir, readdirSync(dir)[0]);
  const good = readFileSync(file);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3] ^= 0x01;
  for (const bad of [flipped, good.subarray(0, good.length - 1), good.subarray(0, 20), Buffer.alloc(0), Buffer.from(JSON.stringify({ token: TOKEN, expiresOnMs: hour() }))]) {
    writeFileSync(file, bad);
    assert.equal(cache.read(GRAPH), undefined, `read ${bad.length} bytes`);
  }
});

test('a token with 5 minutes or less left is a miss; drop forgets the entry', () => {
  const dir = freshDir();
  const cache = new TokenCache(dir, identity);
  const now = Date.now();
  cache.write(GRAPH, { token: TOKEN, expiresOnMs: now + MIN_REMAINING_MS });
  assert.equal(cache.read(GRAPH, now), undefined);
  cache.write(GRAPH, { token: TOKEN, expiresOnMs: now - 1 });
  assert.equal(cache.read(GRAPH, now), undefined);
  cache.write(GRAPH, { token: TOKEN, expiresOnMs: now + MIN_REMAINING_MS + 60_000 });
  assert.equal(cache.read(GRAPH, now)?.token, TOKEN);
  cache.drop(GRAPH);
  assert.equal(cache.read(GRAPH, now), undefined);
  assert.deepEqual(readdirSync(dir), []);
});

test('a folder that cannot be used keeps nothing and fails nothing; an open folder of ours is closed', () => {
  const base = mkdtempSync(path.join(tmpdir(), 'token-cache-'));
  const notAFolder = path.join(base, 'tokens');
  writeFileSync(notAFolder, 'x');
  const cache = new TokenCache(notAFolder, identity);
  cache.write(GRAPH, { token: TOKEN, expiresOnMs: hour() });
  assert.equal(cache.read(GRAPH), undefined);
  assert.equal(readFileSync(notAFolder, 'utf8'), 'x');
  if (process.platform !== 'win32') {
    const open = path.join(base, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    new TokenCache(open, identity).write(GRAPH, { token: TOKEN, expiresOnMs: hour() });
    assert.equal(statSync(open).mode & 0o777, 0o700);
  }
});

test('TokenProvider: a kept token is served without msal or a request, with the clock reading taken with it', async () => {
  const dir = freshDir();
  const logger = createLogger({ write: () => {} });
  new TokenCache(dir, identity).write(GRAPH, { token: TOKEN, expiresOnMs: hour(), skewMs: 90_000 });
  const http = new HttpClient({ logger });
  const tokens = new TokenProvider({ ...identity, authType: 'client_secret' }, http, logger, new TokenCache(dir, identity));
  tokens['createApp'] = () => Promise.reject(new Error('msal loaded'));
  assert.deepEqual(await tokens.issue(GRAPH), { token: TOKEN, cached: true });
  assert.equal(await tokens.token(GRAPH), TOKEN);
  assert.equal(http.stats.requests, 0);
  assert.deepEqual(tokens.stats, { token_requests: 0, token_cache_hits: 1, token_failures: 0, token_rejected: 0 });
  assert.equal(http.clockAheadMs(), 90_000, "the window's end uses the kept clock reading");
  // A rejected token is fetched past the cache, whose entry goes.
  await assert.rejects(tokens.issue(GRAPH, true), /msal loaded/);
  assert.deepEqual(readdirSync(dir), []);
  await http.close();
});

test('the checkpoint mark never goes past Microsoft\'s "now" as the latest answer tells it', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const state = (ms: number) => ({ version: 1 as const, highWaterMark: fromEpochMs(ms), emitted: ['x'] });
  // Clock 10 min ahead, but the window was closed with a reading of 1 min: the mark comes back.
  assert.deepEqual(notPastServerTime(state(now - 60_000), 600_000, now), state(now - 600_000));
  // The reading was right (or the clock is not ahead): the mark stays.
  assert.deepEqual(notPastServerTime(state(now - 600_000), 600_000, now), state(now - 600_000));
  assert.deepEqual(notPastServerTime(state(now - 1000), 0, now), state(now - 1000));
  // Within the Date header's resolution: left alone.
  assert.deepEqual(notPastServerTime(state(now + 1500), 0, now), state(now + 1500));
});
