/**
 * The HTTP client against real loopback servers: TLS verification with an extra CA, an
 * authenticating CONNECT proxy, timeouts, and no redirect following.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
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
let truncatedServed = 0;
let tlsConnections = 0;
let serverTls: { key: string; cert: string };
const logger = createLogger({ write: () => {} });
const fast = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 };
/** x-attempt headers that /busy-once received. */
const attempts: string[] = [];

before(async () => {
  const tls = await makeLocalCertificate();
  serverTls = tls;
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
    } else if (req.url === '/stalled-body') {
      // Headers and part of the body at once, the rest never.
      res.writeHead(200, { 'content-length': '100' }).write('{"partial":');
    } else if (req.url?.startsWith('/truncated')) {
      // The first answer loses its connection mid-body; the next is whole.
      const whole = JSON.stringify({ items: 'x'.repeat(5000) });
      if (truncatedServed++ > 0) return void res.end(whole);
      res.writeHead(200, { 'content-length': String(whole.length) }).write(whole.slice(0, 1000), () => res.socket?.destroy());
    } else {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null }));
    }
  });
  https.on('secureConnection', () => tlsConnections++);
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

test('a body that stalls after the headers fails within the timeout as a retried network error that says so', async () => {
  const slept: number[] = [];
  const client = new HttpClient({ logger, retry: fast, caFile, timeoutMs: 300, sleep: async (ms) => void slept.push(ms) });
  const started = Date.now();
  const error = await client.send(`${origin}/stalled-body`).catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.equal(error.code, 'BODY_TIMEOUT');
  assert.match(error.message, /within 300 ms/);
  assert.ok(Date.now() - started < 1500);
  assert.deepEqual([slept.length, client.stats.requests, client.stats.network_errors], [1, 2, 2]);
  await client.close();
});

test('a timeout before the headers names its phase', async () => {
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 1 }, caFile, timeoutMs: 200 });
  const error = await client.send(`${origin}/slow`).catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError);
  assert.equal(error.code, 'HEADERS_TIMEOUT');
  await client.close();
});

test('a connection lost mid-body is a retried network failure, never a short answer', async () => {
  truncatedServed = 0;
  const client = new HttpClient({ logger, retry: fast, caFile, sleep: async () => {} });
  const body = await client.sendJson<{ items: string }>(`${origin}/truncated`);
  assert.equal(body.items.length, 5000);
  assert.deepEqual([client.stats.requests, client.stats.retries, client.stats.network_errors], [2, 1, 1]);
  await client.close();
});

test('requests share one kept-alive TLS connection', async () => {
  const client = new HttpClient({ logger, retry: fast, caFile });
  const before = tlsConnections;
  for (let i = 0; i < 3; i++) await client.sendJson(`${origin}/again-${i}`);
  assert.equal(tlsConnections - before, 1);
  await client.close();
});

test('POST and PATCH bodies arrive whole, with their length', async () => {
  const server = createHttpServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, length: req.headers['content-length'], text })));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new HttpClient({ logger, retry: fast });
  const body = 'é'.repeat(10);
  for (const method of ['POST', 'PATCH'] as const) {
    const echo = await client.sendJson<{ method: string; length: string; text: string }>(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method, body });
    assert.deepEqual(echo, { method, length: '20', text: body });
  }
  await client.close();
  server.close();
});

test('a proxy that never answers CONNECT is a connect timeout, with the reachability hint', async () => {
  // Reads (so it sees the client leave) but never answers.
  const silent = createNetServer((socket) => socket.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 1 }, caFile, timeoutMs: 300, proxy: { url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` } });
  const error = await client.send(`${origin}/x`).catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.match(error.code ?? '', /^(CONNECT_TIMEOUT|ETIMEDOUT)$/);
  assert.match(error.message, /cannot be reached/);
  await client.close();
  await new Promise((r) => silent.close(r));
});

test('a refused proxy password is reported as the proxy\'s 407, with a hint, and not retried', async () => {
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 3 }, caFile, proxy: { url: proxyUrl, username: 'svc', password: 'wrong-pass' } });
  const error = await client.send(`${origin}/x`).catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError);
  assert.equal(error.code, 'EPROXY_AUTH');
  assert.match(error.message, /HTTP 407.*proxy_username and the proxy password/);
  assert.equal(client.stats.requests, 1);
  await client.close();
});

test('a header value Node refuses is a failure of its own, not retried', async () => {
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 3 }, caFile });
  const error = await client.send(`${origin}/x`, { headers: { 'x-bad': 'a\nb' } }).catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.equal(error.code, 'ERR_INVALID_CHAR');
  assert.equal(client.stats.requests, 1);
  await client.close();
});

test('an https:// proxy is verified with the same CAs, and the target through it too', async () => {
  const secureProxy = new ConnectProxy('svc', 'pr0xy-pass', {}, serverTls);
  const url = await secureProxy.start();
  try {
    const trusting = new HttpClient({ logger, retry: fast, caFile, proxy: { url, username: 'svc', password: 'pr0xy-pass' } });
    const body = await trusting.sendJson<{ path: string }>(`${origin}/via-https-proxy`);
    assert.equal(body.path, '/via-https-proxy');
    assert.equal(secureProxy.connects.length, 1);
    await trusting.close();
    const untrusting = new HttpClient({ logger, retry: fast, proxy: { url, username: 'svc', password: 'pr0xy-pass' } });
    await assert.rejects(untrusting.send(`${origin}/x`), (e: unknown) => e instanceof NetworkError && /certificate/i.test(e.message));
    assert.equal(secureProxy.connects.length, 1, 'no CONNECT sent to an unverified proxy');
    await untrusting.close();
  } finally {
    await secureProxy.stop();
  }
});

test('the undici dispatcher, for the Azure SDK transport and WebSocket, is built on first use with the same CA and proxy', async () => {
  proxy.connects.length = 0;
  const client = new HttpClient({ logger, retry: fast, caFile, proxy: { url: proxyUrl, username: 'svc', password: 'pr0xy-pass' } });
  const { request } = await import('undici');
  const response = await request(`${origin}/via-dispatcher`, { dispatcher: client.dispatcher });
  assert.deepEqual(await response.body.json(), { path: '/via-dispatcher', auth: null });
  assert.equal(client.dispatcher, client.dispatcher, 'built once');
  assert.equal(proxy.connects.length, 1);
  await client.close();
  await assert.rejects(request(`${origin}/after-close`, { dispatcher: client.dispatcher }), /destroyed|closed/i);
});

test('close() ends a request in flight, which is not retried, and the process is not held by a retry wait', async () => {
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 }, caFile });
  const started = Date.now();
  const pending = client.send(`${origin}/slow`).catch((e: unknown) => e);
  setTimeout(() => void client.close(), 100);
  const error = await pending;
  assert.ok(error instanceof NetworkError, String(error));
  assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
  assert.equal(client.stats.requests, 1);
});

test('close() during a retry wait ends the wait and the send', async () => {
  const client = new HttpClient({ logger, retry: { ...fast, maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 }, caFile, timeoutMs: 100 });
  const started = Date.now();
  const pending = client.send(`${origin}/slow`).catch((e: unknown) => e);
  setTimeout(() => void client.close(), 300);
  const error = await pending;
  assert.ok(error instanceof NetworkError && error.code === 'HEADERS_TIMEOUT', String(error));
  assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
  assert.deepEqual([client.stats.requests, client.stats.retries], [1, 1]);
});

test('headersForAttempt is asked again for each attempt, so a retry carries its own (a fresh signature)', async () => {
  const client = new HttpClient({ logger, retry: fast, caFile });
  let made = 0;
  await client.send(`${origin}/busy-once`, { headers: { 'x-attempt': 'fixed' }, headersForAttempt: () => ({ 'x-attempt': String(++made) }) });
  assert.deepEqual(attempts, ['1', '2']);
  assert.equal(client.stats.retries, 1);
  await client.close();
});
