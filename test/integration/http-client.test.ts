/**
 * The HTTP client against real loopback servers: TLS verification with an extra CA, an
 * authenticating CONNECT proxy, timeouts, and no redirect following.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { HttpClient, notPublic } from '../../src/http/client.js';
import { HttpError, NetworkError } from '../../src/http/errors.js';
import { createLogger } from '../../src/splunk/log.js';
import { generate } from 'selfsigned';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';
import { ConnectProxy } from '../helpers/connectProxy.js';

let origin: string;
let caFile: string;
let https: ReturnType<typeof createHttpsServer>;
let proxy: ConnectProxy;
let proxyUrl: string;
const logger = createLogger({ write: () => {} });
const fast = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 };
/** x-attempt headers that /busy-once received. */
const attempts: string[] = [];

before(async () => {
  const tls = await makeLocalCertificate();
  caFile = path.join(mkdtempSync(path.join(tmpdir(), 'ca-')), 'ca.pem');
  writeFileSync(caFile, tls.cert);
  https = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: 'https://example.invalid/steal' }).end();
    } else if (req.url === '/busy-once') {
      attempts.push(String(req.headers['x-attempt']));
      if (attempts.length === 1) res.writeHead(503).end();
      else res.end('{}');
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('{}'), 2000);
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null }));
    }
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  origin = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;

  proxy = new ConnectProxy('svc', 'pr0xy-pass');
  proxyUrl = await proxy.start();
});

after(async () => {
  https.closeAllConnections();
  await Promise.all([new Promise((r) => https.close(r)), proxy.stop()]);
});

test('an untrusted certificate is refused: verification stays on', async () => {
  const client = new HttpClient({ logger, retry: fast });
  await assert.rejects(client.send(`${origin}/x`), (e: unknown) => e instanceof NetworkError && /certificate/i.test(e.message));
  await client.close();
});

test('ca_file adds a trusted CA on top of the public ones', async () => {
  const client = new HttpClient({ logger, retry: fast, caFile });
  const body = await client.sendJson<{ path: string }>(`${origin}/hello?a=1`);
  assert.equal(body.path, '/hello?a=1');
  await client.close();
});

test('a ca_file is trusted by its own client only: a client built after it without one still refuses', async () => {
  const withCa = new HttpClient({ logger, retry: fast, caFile });
  await withCa.sendJson(`${origin}/first`);
  const without = new HttpClient({ logger, retry: fast });
  await assert.rejects(without.send(`${origin}/x`), (e: unknown) => e instanceof NetworkError && /certificate/i.test(e.message));
  await Promise.all([withCa.close(), without.close()]);
});

test('with a ca_file, the NODE_EXTRA_CA_CERTS bundle is still trusted', async () => {
  // A subject of its own: OpenSSL finds a trusted certificate by its subject name.
  const other = await generate([{ name: 'commonName', value: 'extra-ca.test' }], {
    keyType: 'rsa', keySize: 2048, algorithm: 'sha256', notBeforeDate: new Date(Date.now() - 300_000), notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const server = createHttpsServer({ key: other.private, cert: other.cert }, (_req, res) => res.end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const extra = path.join(mkdtempSync(path.join(tmpdir(), 'extra-ca-')), 'extra.pem');
  // As on most hosts, the bundle also holds public CAs Node has already (which are not added again).
  writeFileSync(extra, [...rootCertificates.slice(0, 3), other.cert].join('\n'));
  assert.equal(notPublic(readFileSync(extra, 'utf8')).replace(/\s+/g, ''), other.cert.replace(/\s+/g, ''));
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = extra;
  try {
    const client = new HttpClient({ logger, retry: fast, caFile });
    await client.sendJson(`https://127.0.0.1:${(server.address() as AddressInfo).port}/extra`);
    await client.sendJson(`${origin}/ca-file`);
    await client.close();
  } finally {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('a NODE_EXTRA_CA_CERTS bundle with another kind of block than CERTIFICATE is added whole', () => {
  const trusted = rootCertificates[0].replace(/CERTIFICATE-----/g, 'TRUSTED CERTIFICATE-----');
  const bundle = [rootCertificates[1], trusted].join('\n');
  assert.equal(notPublic(bundle), bundle);
  assert.equal(notPublic(rootCertificates.slice(0, 5).join('\n')), '');
});

test('an unreadable ca_file is a clear error', () => {
  assert.throws(() => new HttpClient({ logger, caFile: '/nonexistent/ca.pem' }), /Cannot read ca_file \/nonexistent\/ca.pem/);
});

test('requests go through an authenticating proxy with CONNECT', async () => {
  proxy.connects.length = 0;
  const client = new HttpClient({ logger, retry: fast, caFile, proxy: { url: proxyUrl, username: 'svc', password: 'pr0xy-pass' } });
  const body = await client.sendJson<{ auth: string }>(`${origin}/via-proxy`, { headers: { authorization: 'Bearer t' } });
  assert.equal(body.auth, 'Bearer t');
  assert.equal(proxy.connects.length, 1);
  assert.equal(proxy.connects[0].target, origin.replace('https://', ''));
  await client.close();
});

test('a wrong proxy password fails without leaking it', async () => {
  const lines: string[] = [];
  const client = new HttpClient({ logger: createLogger({ write: (l) => lines.push(l) }), retry: fast, caFile, proxy: { url: proxyUrl, username: 'svc', password: 'wrong-pass' } });
  await assert.rejects(client.send(`${origin}/x`), (e: unknown) => e instanceof Error && !e.message.includes('wrong-pass'));
  assert.ok(!lines.join('\n').includes('wrong-pass'));
  await client.close();
});

test('redirects are not followed, so Authorization never travels to another host', async () => {
  const client = new HttpClient({ logger, retry: fast, caFile });
  const error = await client.send(`${origin}/redirect`).catch((e: unknown) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 302);
  assert.equal(client.stats.requests, 1, 'not retried, not followed');
  await client.close();
});

test('a request that outlives the timeout is retried, then fails as a network error', async () => {
  const slept: number[] = [];
  const client = new HttpClient({ logger, retry: fast, caFile, timeoutMs: 200, sleep: async (ms) => void slept.push(ms) });
  const started = Date.now();
  await assert.rejects(client.send(`${origin}/slow`), NetworkError);
  assert.ok(Date.now() - started < 1500);
  assert.equal(slept.length, 1);
  assert.equal(client.stats.requests, 2);
  await client.close();
});

test('HttpError carries status and parsed body', async () => {
  const server = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NotFound"}}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new HttpClient({ logger, retry: fast });
  const error = await client.send(`http://127.0.0.1:${(server.address() as AddressInfo).port}/nope?$skiptoken=secret`).catch((e: unknown) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 404);
  assert.deepEqual(error.body, { error: { code: 'NotFound' } });
  assert.ok(!error.message.includes('skiptoken'), 'query strings stay out of messages');
  await client.close();
  server.close();
});

test("the server's Date header tells how far this host's clock runs ahead", async () => {
  const server = createHttpServer((_req, res) => res.writeHead(200, { date: new Date(Date.now() - 600_000).toUTCString() }).end('{}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new HttpClient({ logger, retry: fast });
  assert.equal(client.clockAheadMs(), 0);
  await client.send(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  assert.ok(Math.abs(client.clockAheadMs() - 600_000) < 3000, String(client.clockAheadMs()));
  await client.close();
  server.close();
});

test('headersForAttempt is asked again for each attempt, so a retry carries its own (a fresh signature)', async () => {
  const client = new HttpClient({ logger, retry: fast, caFile });
  let made = 0;
  await client.send(`${origin}/busy-once`, { headers: { 'x-attempt': 'fixed' }, headersForAttempt: () => ({ 'x-attempt': String(++made) }) });
  assert.deepEqual(attempts, ['1', '2']);
  assert.equal(client.stats.retries, 1);
  await client.close();
});
