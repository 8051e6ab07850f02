/**
 * Token acquisition through the real msal-node (secret and certificate) and the Graph client,
 * against the Entra/Graph simulator over https.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HttpClient } from '../../src/http/client.js';
import { AuthenticationError, TokenProvider, type Credentials } from '../../src/microsoft/auth.js';
import { GraphClient, PermissionError } from '../../src/microsoft/graph.js';
import { createLogger } from '../../src/splunk/log.js';
import { GraphSimulator } from '../../tools/simulator/graph.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const logger = createLogger({ write: () => {} });
const tenantId = randomUUID();
const secretApp = { tenantId, clientId: randomUUID(), clientSecret: 'S3cret~value', roles: ['SecurityAlert.Read.All'] };
let certApp: { tenantId: string; clientId: string; certificatePem: string; roles: string[] };
let clientKeyPem: string;
let sim: GraphSimulator;
let http: HttpClient;

before(async () => {
  const tls = await makeLocalCertificate();
  const clientCert = await makeLocalCertificate();
  clientKeyPem = clientCert.key;
  certApp = { tenantId, clientId: randomUUID(), certificatePem: clientCert.cert, roles: ['SecurityIncident.Read.All'] };
  sim = new GraphSimulator({ tls, apps: [secretApp, certApp] });
  await sim.start();
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'ca-')), 'ca.pem');
  writeFileSync(caFile, tls.cert);
  http = new HttpClient({ logger, caFile, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 } });
});
after(async () => {
  await http.close();
  await sim.stop();
});

const creds = (over: Partial<Credentials>): Credentials => ({
  tenantId, clientId: secretApp.clientId, authType: 'client_secret', secret: secretApp.clientSecret, loginUrl: sim.baseUrl, ...over,
});
const tokenRequests = () => sim.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;

test('client secret: one token request, then the cached token is reused', async () => {
  const tokens = new TokenProvider(creds({}), http, logger);
  const before = tokenRequests();
  const all = sim.requests.length;
  const a = await tokens.token(sim.baseUrl);
  const b = await tokens.token(sim.baseUrl);
  assert.equal(a, b);
  assert.equal(tokenRequests() - before, 1);
  // The tenant's OpenID metadata is given to msal, not fetched: the token is the only request.
  assert.deepEqual(sim.requests.slice(all).map((r) => r.path), [`/${tenantId}/oauth2/v2.0/token`]);
});

test('certificate: the PEM with key and certificate signs an assertion Entra accepts', async () => {
  const tokens = new TokenProvider(creds({ clientId: certApp.clientId, authType: 'certificate', secret: `${clientKeyPem}\n${certApp.certificatePem}` }), http, logger);
  assert.ok((await tokens.token(sim.baseUrl)).length > 10);
});

test('certificate: a key-only PEM needs certificate_thumbprint, and says so', async () => {
  // Said on the first token the provider must fetch (msal is loaded then, not before).
  const tokens = new TokenProvider(creds({ clientId: certApp.clientId, authType: 'certificate', secret: clientKeyPem }), http, logger);
  await assert.rejects(tokens.token(sim.baseUrl), (error: unknown) => error instanceof AuthenticationError && /set certificate_thumbprint/.test(error.message));
});

test('a wrong secret, an unknown tenant, an unknown app: each says what to fix', async () => {
  const cases: [Partial<Credentials>, RegExp][] = [
    [{ secret: 'wrong' }, /client secret is wrong \(AADSTS7000215\)/],
    // The token endpoint itself refuses an unknown tenant: its metadata is not fetched first.
    [{ tenantId: randomUUID() }, /has no tenant [0-9a-f-]+ \(AADSTS90002\)\. Check tenant_id/],
    [{ clientId: randomUUID() }, /not found in tenant .*AADSTS700016/],
    // A custom login URL that is not Entra's: its answer names the URL and says what to check.
    [{ loginUrl: `${sim.baseUrl}/not-entra` }, /HTTP 404 from .*\/not-entra\/.*oauth2\/v2\.0\/token is not an Entra ID answer.*login URL/],
  ];
  for (const [over, expected] of cases) {
    const error = await new TokenProvider(creds(over), http, logger).token(sim.baseUrl).catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError, String(error));
    assert.match(error.message, expected);
  }
});

test('Entra failing with an HTML page (after retries) says it is Entra and that the next poll retries', async () => {
  sim.faults.push({ match: /oauth2\/v2\.0\/token/, fault: { kind: 'status', status: 503, body: '<html><body>Service Unavailable</body></html>' }, times: 2 });
  const error = await new TokenProvider(creds({}), http, logger).token(sim.baseUrl).catch((e: unknown) => e);
  sim.faults.length = 0;
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.match(error.message, /^Entra ID is failing: HTTP 503 from .*oauth2\/v2\.0\/token, after retries\. The next poll tries again\.$/);
});

test('Graph: an expired token is refreshed once on 401, transparently', async () => {
  sim.addAlerts(3, { at: new Date(Date.now() - 1000) });
  const graph = new GraphClient(http, new TokenProvider(creds({}), http, logger), sim.baseUrl, 'SecurityAlert.Read.All');
  const url = graph.url('/v1.0/security/alerts_v2', { $top: '10' });
  await graph.get(url);
  const before = tokenRequests();
  sim.expireTokens();
  const body = await graph.get<{ value: unknown[] }>(url);
  assert.ok(body.value.length >= 3);
  assert.equal(tokenRequests() - before, 1);
});

test('Graph: a fresh token rejected again (two pages in flight over one expiry) is refreshed once more; a third 401 is reported', async () => {
  sim.addAlerts(3, { at: new Date(Date.now() - 1000) });
  const graph = new GraphClient(http, new TokenProvider(creds({}), http, logger), sim.baseUrl, 'SecurityAlert.Read.All');
  const url = graph.url('/v1.0/security/alerts_v2', { $top: '10' });
  await graph.get(url);
  const expired = { kind: 'status' as const, status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' } } };
  let before = tokenRequests();
  sim.faults.push({ match: /alerts_v2/, fault: expired, times: 2 });
  const body = await graph.get<{ value: unknown[] }>(url);
  assert.ok(body.value.length >= 3);
  assert.equal(tokenRequests() - before, 2);
  before = tokenRequests();
  sim.faults.push({ match: /alerts_v2/, fault: expired, times: 3 });
  const error = await graph.get(url).catch((e: unknown) => e);
  assert.ok(error instanceof PermissionError);
  assert.match(error.message, /rejected the token \(401, InvalidAuthenticationToken/);
  assert.equal(tokenRequests() - before, 2);
  sim.faults.length = 0;
});

test('Graph: a missing application permission names the one to grant', async () => {
  const graph = new GraphClient(http, new TokenProvider(creds({}), http, logger), sim.baseUrl, 'SecurityIncident.Read.All');
  const error = await graph.get(graph.url('/v1.0/security/incidents')).catch((e: unknown) => e);
  assert.ok(error instanceof PermissionError);
  assert.match(error.message, /Grant the application permission SecurityIncident\.Read\.All/);
});

test('Graph: links off the configured host are never followed', async () => {
  const graph = new GraphClient(http, new TokenProvider(creds({}), http, logger), sim.baseUrl, 'SecurityAlert.Read.All');
  await assert.rejects(graph.get('https://evil.example/v1.0/security/alerts_v2'), /Refusing to follow a link off/);
});
