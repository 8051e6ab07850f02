/**
 * splunkd's REST client (src/splunk/rest.ts) against the splunkd stand-in, over https with a
 * self-signed certificate (as splunkd's management port usually has) and over plain http.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { loadSettings } from '../../src/config/settings.js';
import { SplunkdError, SplunkRest } from '../../src/splunk/rest.js';
import { SplunkdStandIn } from '../../tools/simulator/splunkd.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const APP = 'TA-defender-xdr';
const KEY = 'session-key-for-rest-test';
let tlsSplunkd: SplunkdStandIn;
let plainSplunkd: SplunkdStandIn;

before(async () => {
  const tls = await makeLocalCertificate();
  tlsSplunkd = new SplunkdStandIn({ sessionKey: KEY, tls });
  plainSplunkd = new SplunkdStandIn({ sessionKey: KEY });
  for (const s of [tlsSplunkd, plainSplunkd]) {
    s.setConfStanza(APP, 'defender_xdr_account', 'prod', { tenant_id: 'contoso.onmicrosoft.com', client_id: 'c' });
    s.setConfStanza(APP, 'defender_xdr_settings', 'logging', { loglevel: 'DEBUG' });
    s.setConfStanza(APP, 'defender_xdr_settings', 'collection', { reread_window: '120', max_retries: '2' });
    s.setPassword(APP, APP, 'prod:with:colons', 'the-secret');
    await s.start();
  }
});

after(async () => {
  await Promise.all([tlsSplunkd.stop(), plainSplunkd.stop()]);
});

test('reads a stanza, a missing stanza, every stanza of a file and a secret, over https with a self-signed certificate and over http', async () => {
  for (const s of [tlsSplunkd, plainSplunkd]) {
    const rest = new SplunkRest(s.serverUri, KEY);
    assert.equal((await rest.confStanza('defender_xdr_account', 'prod'))?.tenant_id, 'contoso.onmicrosoft.com');
    assert.equal(await rest.confStanza('defender_xdr_account', 'nope'), undefined);
    const all = await rest.confStanzas('defender_xdr_settings');
    assert.equal(all.get('logging')?.loglevel, 'DEBUG');
    assert.equal(all.get('collection')?.reread_window, '120');
    assert.equal(await rest.password(APP, 'prod:with:colons'), 'the-secret');
    assert.equal(await rest.password(APP, 'missing'), undefined);
  }
});

test('the settings come from one request for the whole conf file', async () => {
  const before = plainSplunkd.requests.length;
  const settings = await loadSettings(new SplunkRest(plainSplunkd.serverUri, KEY));
  assert.equal(settings.logLevel, 'DEBUG');
  assert.equal(settings.reReadWindowSeconds, 120);
  assert.equal(settings.maxRetries, 2);
  assert.equal(settings.resident, false, 'no resident key: off');
  const made = plainSplunkd.requests.slice(before);
  assert.deepEqual(
    made.map((r) => r.path),
    [`/servicesNS/nobody/${APP}/configs/conf-defender_xdr_settings`],
  );
  assert.equal(made[0].query.get('count'), '0');
});

test('[collection] resident as the configuration page writes it (1 or 0) and as an admin may (true)', async () => {
  for (const [value, expected] of [['1', true], ['0', false], ['true', true], ['', false]] as const) {
    plainSplunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { reread_window: '120', max_retries: '2', resident: value });
    assert.equal((await loadSettings(new SplunkRest(plainSplunkd.serverUri, KEY))).resident, expected, JSON.stringify(value));
  }
  plainSplunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { reread_window: '120', max_retries: '2' });
});

test('a refused session key and a server error carry the path and splunkd\'s message', async () => {
  const wrong = new SplunkRest(tlsSplunkd.serverUri, 'not-the-key');
  await assert.rejects(wrong.confStanza('defender_xdr_account', 'prod'), (error: unknown) => {
    assert.ok(error instanceof SplunkdError);
    assert.equal(error.status, 401);
    assert.match(error.message, /^splunkd refused the session key \(401\) reading configs\/conf-defender_xdr_account\/prod/);
    return true;
  });
  tlsSplunkd.failNext = { match: /storage\/passwords/, status: 503, times: 1 };
  await assert.rejects(new SplunkRest(tlsSplunkd.serverUri, KEY).password(APP, 'prod'), /^SplunkdError: splunkd answered 503 for storage\/passwords\/TA-defender-xdr%3Aprod%3A/);
});

test('an unreachable splunkd says so', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  await assert.rejects(new SplunkRest(`https://127.0.0.1:${port}`, KEY).confStanza('defender_xdr_account', 'prod'), /^SplunkdError: Cannot reach splunkd for configs\/conf-defender_xdr_account\/prod: .*ECONNREFUSED/);
});
