/**
 * Tests of the Graph/Entra simulator itself: if it drifts from the real services, every
 * test built on it proves the wrong thing. Everything goes over https with the simulator's
 * self-signed certificate trusted as a CA (verification stays on).
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as cryptoConstants, createHash, randomUUID, sign, X509Certificate } from 'node:crypto';
import { Agent, request } from 'undici';
import { ConfidentialClientApplication, type INetworkModule, type NetworkResponse } from '@azure/msal-node';
import { generate } from 'selfsigned';
import { CLIENT_ASSERTION_TYPE, GraphSimulator, type Alert, type Incident } from '../../tools/simulator/graph.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';
import { toTicks } from '../../tools/simulator/odata.js';

const TENANT = '6f1c7a52-0b7e-4c1d-9a55-3d2f8e9b1c44';
const CLIENT = '2b9d4e61-8c3a-4f7b-b1d2-5e6f7a8b9c0d';
const CERT_CLIENT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const SECRET = 'Sim~secret.value_123';
const ROLES = ['SecurityAlert.Read.All', 'SecurityIncident.Read.All'];
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

let sim: GraphSimulator;
let base: string;
let dispatcher: Agent;
let clientKey: string;
let clientCert: string;

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

async function http(url: string, opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
  const res = await request(url.startsWith('https://') ? url : `${base}${url}`, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher,
  });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // non-JSON bodies (fault tests) are checked through `text`
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

function tokenRequest(params: Record<string, string>, tenant = TENANT): Promise<HttpResult> {
  return http(`/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

async function secretToken(): Promise<string> {
  const r = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE });
  assert.equal(r.status, 200, r.text);
  return String(r.json.access_token);
}

function graph(path: string, token: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(path, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

function errorOf(r: HttpResult): { code: string; message: string; innerError: Record<string, string> } {
  return r.json.error as { code: string; message: string; innerError: Record<string, string> };
}

function values<T>(r: HttpResult): T[] {
  return r.json.value as T[];
}

/** Follows @odata.nextLink verbatim, as a client must. */
async function walk(first: string, token: string): Promise<HttpResult[]> {
  const pages: HttpResult[] = [];
  let next: string | undefined = first;
  while (next) {
    const page = await graph(next, token);
    assert.equal(page.status, 200, page.text);
    pages.push(page);
    next = page.json['@odata.nextLink'] as string | undefined;
  }
  return pages;
}

function q(params: Record<string, string>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A client assertion signed by hand, exactly as RFC 7523 / Entra expect it. */
function assertion(opts: { alg?: 'RS256' | 'PS256'; aud?: string; iss?: string; exp?: number; key?: string; cert?: string } = {}): string {
  const alg = opts.alg ?? 'RS256';
  const cert = new X509Certificate(opts.cert ?? clientCert);
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', 'x5t#S256': createHash('sha256').update(cert.raw).digest('base64url') };
  const payload = {
    aud: opts.aud ?? `${base}/${TENANT}/oauth2/v2.0/token`,
    iss: opts.iss ?? CERT_CLIENT,
    sub: opts.iss ?? CERT_CLIENT,
    jti: randomUUID(),
    nbf: now,
    iat: now,
    exp: opts.exp ?? now + 600,
  };
  const input = `${b64url(header)}.${b64url(payload)}`;
  const key = opts.key ?? clientKey;
  const signature = alg === 'RS256'
    ? sign('sha256', Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST });
  return `${input}.${signature.toString('base64url')}`;
}

function assertionRequest(jwt: string, clientId = CERT_CLIENT): Promise<HttpResult> {
  return tokenRequest({ grant_type: 'client_credentials', client_id: clientId, client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: jwt, scope: GRAPH_SCOPE });
}

/** Entra's error body: error, AADSTS description with trace/correlation ids, codes, timestamps. */
function assertEntraError(r: HttpResult, status: number, error: string, code: number): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.error, error);
  assert.match(String(r.json.error_description), new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 's'));
  assert.deepEqual(r.json.error_codes, [code]);
  assert.match(String(r.json.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(String(r.json.trace_id), /^[0-9a-f-]{36}$/);
  assert.match(String(r.json.correlation_id), /^[0-9a-f-]{36}$/);
}

before(async () => {
  const tls = await makeLocalCertificate();
  const client = await generate([{ name: 'commonName', value: 'sim-client' }], { keySize: 2048, algorithm: 'sha256' });
  clientKey = client.private;
  clientCert = client.cert;
  sim = new GraphSimulator({
    tls,
    apps: [
      { tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, roles: [...ROLES] },
      { tenantId: TENANT, clientId: CERT_CLIENT, certificatePem: clientCert, roles: [...ROLES] },
    ],
  });
  base = await sim.start();
  dispatcher = new Agent({ connect: { ca: tls.cert } });
});

after(async () => {
  await sim.stop();
  await dispatcher.close();
});

beforeEach(() => {
  sim.alerts.clear();
  sim.incidents.clear();
  sim.faults.length = 0;
  sim.onListPage = undefined;
  sim.expandFailsWithFilter = false;
});

describe('Entra ID', () => {
  test('serves OpenID configuration and instance discovery for its own host', async () => {
    const oidc = await http(`/${TENANT}/v2.0/.well-known/openid-configuration`);
    assert.equal(oidc.status, 200);
    assert.equal(oidc.json.token_endpoint, `${base}/${TENANT}/oauth2/v2.0/token`);
    assert.equal(oidc.json.issuer, `${base}/${TENANT}/v2.0`);
    assert.equal(oidc.json.authorization_endpoint, `${base}/${TENANT}/oauth2/v2.0/authorize`);
    assert.equal(oidc.json.jwks_uri, `${base}/${TENANT}/discovery/v2.0/keys`);
    assert.ok((oidc.json.token_endpoint_auth_methods_supported as string[]).includes('private_key_jwt'));

    const authorize = `${base}/${TENANT}/oauth2/v2.0/authorize`;
    const discovery = await http(`/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(authorize)}`);
    assert.equal(discovery.status, 200);
    assert.equal(discovery.json.tenant_discovery_endpoint, `${base}/${TENANT}/v2.0/.well-known/openid-configuration`);
    const [meta] = discovery.json.metadata as { preferred_network: string; aliases: string[] }[];
    assert.equal(meta?.preferred_network, new URL(base).host);

    const unknown = await http('/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration');
    assertEntraError(unknown, 400, 'invalid_tenant', 90002);
  });

  test('client secret: exact success shape; wrong secret, unknown app, unknown tenant and bad scope fail like Entra', async () => {
    const ok = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.json), ['token_type', 'expires_in', 'ext_expires_in', 'access_token']);
    assert.equal(ok.json.token_type, 'Bearer');
    assert.equal(ok.json.expires_in, 3599);
    assert.equal(ok.json.ext_expires_in, 3599);
    assert.match(String(ok.headers['content-type']), /^application\/json/);

    const bad = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 'nope', scope: GRAPH_SCOPE });
    assertEntraError(bad, 401, 'invalid_client', 7000215);
    assert.match(String(bad.json.error_description), /Invalid client secret provided/);

    const app = await tokenRequest({ grant_type: 'client_credentials', client_id: randomUUID(), client_secret: SECRET, scope: GRAPH_SCOPE });
    assertEntraError(app, 400, 'unauthorized_client', 700016);

    const tenant = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE }, randomUUID());
    assertEntraError(tenant, 400, 'invalid_request', 90002);

    const scope = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: 'https://graph.microsoft.com/SecurityAlert.Read.All' });
    assertEntraError(scope, 400, 'invalid_scope', 1002012);

    const correlation = randomUUID();
    const echoed = await http(`/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'client-request-id': correlation },
      body: q({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 'nope', scope: GRAPH_SCOPE }),
    });
    assert.equal(echoed.json.correlation_id, correlation);
    assert.equal(echoed.headers['client-request-id'], correlation);
  });

  test('certificate assertion: RS256 and PS256 accepted; wrong key, issuer, audience and expiry rejected', async () => {
    for (const alg of ['RS256', 'PS256'] as const) {
      const r = await assertionRequest(assertion({ alg }));
      assert.equal(r.status, 200, r.text);
      assert.equal(typeof r.json.access_token, 'string');
    }
    const other = await generate([{ name: 'commonName', value: 'intruder' }], { keySize: 2048, algorithm: 'sha256' });
    // Right thumbprint, wrong private key: the signature must not verify.
    assertEntraError(await assertionRequest(assertion({ key: other.private })), 401, 'invalid_client', 700027);
    // A certificate the app never registered.
    assertEntraError(await assertionRequest(assertion({ key: other.private, cert: other.cert })), 401, 'invalid_client', 700027);
    assertEntraError(await assertionRequest(assertion({ iss: CLIENT })), 401, 'invalid_client', 700021);
    assertEntraError(await assertionRequest(assertion({ aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' })), 401, 'invalid_client', 700023);
    assertEntraError(await assertionRequest(assertion({ exp: Math.floor(Date.now() / 1000) - 3600 })), 401, 'invalid_client', 700024);
    // The secret-only app has no certificate.
    assertEntraError(await assertionRequest(assertion({ iss: CLIENT }), CLIENT), 401, 'invalid_client', 700027);
  });

  test('msal-node acquires tokens through discovery, with a secret and with a certificate', async () => {
    const networkClient = undiciNetworkClient();
    const common = { authority: `${base}/${TENANT}`, knownAuthorities: [new URL(base).host] };
    const before = sim.requests.length;
    const bySecret = new ConfidentialClientApplication({ auth: { clientId: CLIENT, clientSecret: SECRET, ...common }, system: { networkClient } });
    const secretResult = await bySecret.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    assert.ok(secretResult?.accessToken);
    assert.equal((await graph('/v1.0/security/alerts_v2?$top=1', secretResult.accessToken)).status, 200);
    const paths = sim.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    assert.ok(paths.includes(`GET /${TENANT}/v2.0/.well-known/openid-configuration`), paths.join('\n'));
    assert.ok(paths.includes(`POST /${TENANT}/oauth2/v2.0/token`));

    const thumbprintSha256 = new X509Certificate(clientCert).fingerprint256.replace(/:/g, '');
    const byCert = new ConfidentialClientApplication({
      auth: { clientId: CERT_CLIENT, clientCertificate: { thumbprintSha256, privateKey: clientKey }, ...common },
      system: { networkClient },
    });
    const certResult = await byCert.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    assert.ok(certResult?.accessToken);
  });
});

/** msal-node's HTTP hook, over undici so the simulator's CA is trusted. */
function undiciNetworkClient(): INetworkModule {
  const call = async <T>(method: 'GET' | 'POST', url: string, headers?: Record<string, string>, body?: string): Promise<NetworkResponse<T>> => {
    const res = await request(url, { method, headers, body, dispatcher });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { headers: flat, body: (await res.body.json()) as T, status: res.statusCode };
  };
  return {
    sendGetRequestAsync: (url, options) => call('GET', url, options?.headers),
    sendPostRequestAsync: (url, options) => call('POST', url, options?.headers, options?.body),
  };
}

describe('Graph authentication and authorization', () => {
  test('401 InvalidAuthenticationToken without, with a bogus, and with an expired token', async () => {
    const none = await http('/v1.0/security/alerts_v2');
    assert.equal(none.status, 401);
    const err = errorOf(none);
    assert.equal(err.code, 'InvalidAuthenticationToken');
    assert.equal(err.message, 'Access token is empty.');
    assert.match(err.innerError.date ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.equal(err.innerError['request-id'], none.headers['request-id']);
    assert.ok(err.innerError['client-request-id']);
    assert.match(String(none.headers['www-authenticate']), /^Bearer /);

    const bogus = await graph('/v1.0/security/incidents', 'not-a-token');
    assert.equal(bogus.status, 401);
    assert.equal(errorOf(bogus).code, 'InvalidAuthenticationToken');

    const token = await secretToken();
    sim.expireTokens();
    const expired = await graph('/v1.0/security/alerts_v2', token);
    assert.equal(expired.status, 401);
    assert.match(errorOf(expired).message, /expired/);
  });

  test('403 Forbidden names the missing permission once a role is revoked', async () => {
    const token = await secretToken();
    sim.revokeRole(CLIENT, 'SecurityAlert.Read.All');
    try {
      const denied = await graph('/v1.0/security/alerts_v2', token);
      assert.equal(denied.status, 403);
      assert.equal(errorOf(denied).code, 'Forbidden');
      assert.match(errorOf(denied).message, /Missing application permissions: SecurityAlert\.Read\.All/);
      assert.equal((await graph('/v1.0/security/incidents', token)).status, 200, 'incidents need the other role');
    } finally {
      sim.grantRole(CLIENT, 'SecurityAlert.Read.All');
    }
    assert.equal((await graph('/v1.0/security/alerts_v2', token)).status, 200);
  });

  test('the request log keeps order and statuses but never a token or secret', async () => {
    const token = await secretToken();
    await graph('/v1.0/security/alerts_v2?$top=5', token, { 'client-request-id': 'abc' });
    const [tokenCall, listCall] = sim.requests.slice(-2);
    assert.equal(tokenCall?.path, `/${TENANT}/oauth2/v2.0/token`);
    assert.equal(listCall?.path, '/v1.0/security/alerts_v2');
    assert.equal(listCall?.query.get('$top'), '5');
    assert.equal(listCall?.status, 200);
    assert.equal(listCall?.headers.authorization, 'Bearer [redacted]');
    const logged = JSON.stringify(sim.requests.map((r) => ({ ...r, query: r.query.toString() })));
    assert.ok(!logged.includes(token));
    assert.ok(!logged.includes(SECRET));
  });
});

describe('Graph lists', () => {
  let token: string;
  before(async () => {
    token = await secretToken();
  });

  test('responses carry Graph headers and the OData envelope', async () => {
    sim.addAlerts(3, { at: new Date(), spreadMs: 60_000 });
    const r = await graph('/v1.0/security/alerts_v2', token, { 'client-request-id': 'my-id' });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json;odata\.metadata=minimal/);
    assert.match(String(r.headers['request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(r.headers['client-request-id'], 'my-id');
    assert.equal(r.json['@odata.context'], `${base}/v1.0/$metadata#security/alerts_v2`);
    assert.equal(values(r).length, 3);
    assert.equal('@odata.nextLink' in r.json, false);
    assert.equal('@odata.count' in r.json, false);
  });

  test('$filter ge/lt selects a window, comparing instants at 100 ns precision', async () => {
    const t0 = new Date('2024-05-01T10:00:00.000Z');
    sim.addAlerts(30, { at: t0, spreadMs: 3_600_000 });
    const [edge] = sim.addAlerts(1, { at: t0 });
    sim.updateAlert(edge!.id, { lastUpdateDateTime: '2024-05-01T10:30:00.1234567Z' });
    const all = [...sim.alerts.values()];
    const from = '2024-05-01T09:30:00Z';
    const to = '2024-05-01T10:30:00.1234567Z';
    const filter = `lastUpdateDateTime ge ${from} and lastUpdateDateTime lt ${to}`;
    const r = await graph(`/v1.0/security/alerts_v2?${q({ $filter: filter })}`, token);
    assert.equal(r.status, 200, r.text);
    const expected = all.filter((a) => toTicks(a.lastUpdateDateTime)! >= toTicks(from)! && toTicks(a.lastUpdateDateTime)! < toTicks(to)!);
    assert.deepEqual(new Set(values<Alert>(r).map((a) => a.id)), new Set(expected.map((a) => a.id)));
    assert.ok(!values<Alert>(r).some((a) => a.id === edge!.id), 'lt excludes the equal instant');

    const justAfter = await graph(`/v1.0/security/alerts_v2?${q({ $filter: 'lastUpdateDateTime gt 2024-05-01T10:30:00.1234566Z' })}`, token);
    assert.deepEqual(values<Alert>(justAfter).map((a) => a.id), [edge!.id]);

    const combined = await graph(`/v1.0/security/alerts_v2?${q({ $filter: `(severity eq 'high' or severity eq 'medium') and ${filter}` })}`, token);
    assert.deepEqual(
      new Set(values<Alert>(combined).map((a) => a.id)),
      new Set(expected.filter((a) => a.severity === 'high' || a.severity === 'medium').map((a) => a.id)),
    );
  });

  test('bad filters are 400 "Invalid filter clause"', async () => {
    for (const filter of [
      'title eq \'x\'',
      "lastUpdateDateTime ge '2024-05-01T00:00:00Z'",
      'lastUpdateDateTime ge',
      "status eq 'bogus'",
      'not (status eq \'new\')',
      "severity eq 'high' and (status eq 'new'",
    ]) {
      const r = await graph(`/v1.0/security/alerts_v2?${q({ $filter: filter })}`, token);
      assert.equal(r.status, 400, filter);
      assert.equal(errorOf(r).code, 'BadRequest');
      assert.match(errorOf(r).message, /^Invalid filter clause: /, filter);
    }
    const quoted = await graph(`/v1.0/security/incidents?${q({ $filter: "assignedTo eq 'O''Brien'" })}`, token);
    assert.equal(quoted.status, 200, 'doubled quotes escape a quote');
  });

  test('$top above the cap is a 400 with Graph\'s message', async () => {
    const inc = await graph('/v1.0/security/incidents?$top=51', token);
    assert.equal(inc.status, 400);
    assert.equal(errorOf(inc).message, "The limit of '50' for Top query has been exceeded. The value from the incoming request is '51'.");
    assert.equal((await graph('/v1.0/security/incidents?$top=50', token)).status, 200);
    const alerts = await graph('/v1.0/security/alerts_v2?$top=1001', token);
    assert.equal(alerts.status, 400);
    assert.equal(errorOf(alerts).message, "The limit of '1000' for Top query has been exceeded. The value from the incoming request is '1001'.");
    assert.equal((await graph('/v1.0/security/alerts_v2?$top=abc', token)).status, 400);
  });

  test('$count and @odata.nextLink walk the whole set, newest first, without gaps', async () => {
    sim.addAlerts(23, { at: new Date('2024-06-01T00:00:00Z'), spreadMs: 86_400_000 });
    const pages = await walk(`/v1.0/security/alerts_v2?${q({ $count: 'true', $top: '5', $filter: 'createdDateTime ge 2024-01-01T00:00:00Z' })}`, token);
    assert.deepEqual(pages.map((p) => values(p).length), [5, 5, 5, 5, 3]);
    for (const p of pages) assert.equal(p.json['@odata.count'], 23);
    const firstLink = String(pages[0]!.json['@odata.nextLink']);
    assert.ok(firstLink.startsWith(`${base}/v1.0/security/alerts_v2?`), firstLink);
    assert.equal(new URL(firstLink).searchParams.get('$skip'), '5');
    assert.equal(new URL(firstLink).searchParams.get('$filter'), 'createdDateTime ge 2024-01-01T00:00:00Z');
    const seen = pages.flatMap((p) => values<Alert>(p));
    assert.equal(new Set(seen.map((a) => a.id)).size, 23);
    const expected = [...sim.alerts.values()].sort((a, b) => {
      const d = Number(toTicks(b.createdDateTime)! - toTicks(a.createdDateTime)!);
      return d !== 0 ? d : a.id < b.id ? -1 : 1;
    });
    assert.deepEqual(seen.map((a) => a.id), expected.map((a) => a.id), 'newest createdDateTime first');
  });

  test('$orderby on a time property is applied (ties by id), refused on other properties, and can be ignored', async () => {
    sim.addAlerts(6, { at: new Date('2024-06-01T00:00:00Z'), spreadMs: 3_600_000 });
    const window = { $filter: 'lastUpdateDateTime ge 2024-05-31T00:00:00Z and lastUpdateDateTime lt 2024-06-02T00:00:00Z' };
    const plain = await graph(`/v1.0/security/alerts_v2?${q(window)}`, token);
    const ascending = await graph(`/v1.0/security/alerts_v2?${q({ ...window, $orderby: 'lastUpdateDateTime asc' })}`, token);
    const times = values<Alert>(ascending).map((a) => toTicks(a.lastUpdateDateTime)!);
    assert.equal(times.length, 6);
    assert.deepEqual(times, [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'oldest change first');
    // After a time, by binary search on the server's index: the same items as a scan would find.
    const after = await graph(`/v1.0/security/alerts_v2?${q({ $filter: `lastUpdateDateTime gt ${values<Alert>(ascending)[2]!.lastUpdateDateTime} and lastUpdateDateTime lt 2024-06-02T00:00:00Z`, $orderby: 'lastUpdateDateTime asc', $count: 'true' })}`, token);
    assert.deepEqual(values<Alert>(after).map((a) => a.id), values<Alert>(ascending).slice(3).map((a) => a.id));
    assert.equal(after.json['@odata.count'], 3);
    const descending = await graph(`/v1.0/security/alerts_v2?${q({ ...window, $orderby: 'lastUpdateDateTime desc' })}`, token);
    assert.deepEqual(values<Alert>(descending).map((a) => a.id), values<Alert>(ascending).map((a) => a.id).reverse());
    const refused = await graph(`/v1.0/security/alerts_v2?${q({ $orderby: 'severity asc' })}`, token);
    assert.equal(refused.status, 400);
    sim.honoursOrderBy = false;
    try {
      const ignored = await graph(`/v1.0/security/alerts_v2?${q({ ...window, $orderby: 'lastUpdateDateTime asc' })}`, token);
      assert.deepEqual(values<Alert>(ignored).map((a) => a.id), values<Alert>(plain).map((a) => a.id));
    } finally {
      sim.honoursOrderBy = true;
    }
  });

  test('offset paging shifts: an item leaving the window skips one, a new item repeats one', async () => {
    const at = new Date('2024-06-01T12:00:00Z');
    sim.addAlerts(10, { at, spreadMs: 600_000 });
    const window = `lastUpdateDateTime ge 2024-06-01T00:00:00Z and lastUpdateDateTime lt 2024-06-01T12:01:00Z`;
    const url = `/v1.0/security/alerts_v2?${q({ $top: '3', $filter: window })}`;
    const order = values<Alert>(await graph(`/v1.0/security/alerts_v2?${q({ $filter: window })}`, token)).map((a) => a.id);

    sim.onListPage = (info) => {
      if (info.collection === 'alerts' && info.skip === 0) sim.updateAlert(order[0]!); // now: leaves the window
    };
    const skipped = (await walk(url, token)).flatMap((p) => values<Alert>(p).map((a) => a.id));
    assert.deepEqual(skipped, order.filter((id) => id !== order[3]), 'the item moved up into the page already read is missed');

    sim.onListPage = undefined;
    sim.alerts.clear();
    sim.addAlerts(10, { at, spreadMs: 600_000 });
    const order2 = values<Alert>(await graph(`/v1.0/security/alerts_v2?${q({ $filter: window })}`, token)).map((a) => a.id);
    let added: Alert | undefined;
    sim.onListPage = (info) => {
      if (info.skip === 0) [added] = sim.addAlerts(1, { at: new Date('2024-06-01T12:00:30Z') });
    };
    const repeated = (await walk(url, token)).flatMap((p) => values<Alert>(p).map((a) => a.id));
    assert.deepEqual(repeated, [...order2.slice(0, 3), ...order2.slice(2)], 'the last item of page one comes again');
    assert.ok(added && !repeated.includes(added.id));
  });

  test('Prefer: include-unknown-enum-members reveals evolvable members, otherwise unknownFutureValue', async () => {
    const [incident] = sim.addIncidents(1, { alertsPerIncident: 1 });
    sim.updateIncident(incident!.id, { status: 'awaitingAction' });
    const alertId = sim.incidents.get(incident!.id)!.alerts![0]!.id;
    sim.updateAlert(alertId, { serviceSource: 'microsoftDefenderForCloud', detectionSource: 'microsoftDefenderForServers' });

    const masked = await graph('/v1.0/security/incidents?$expand=alerts', token);
    const [mi] = values<Incident>(masked);
    assert.equal(mi?.status, 'unknownFutureValue');
    assert.equal(mi?.alerts?.[0]?.serviceSource, 'unknownFutureValue');
    assert.equal(mi?.alerts?.[0]?.detectionSource, 'unknownFutureValue');
    const maskedAlert = await graph(`/v1.0/security/alerts_v2/${alertId}`, token);
    assert.equal(maskedAlert.json.serviceSource, 'unknownFutureValue');

    const prefer = { prefer: 'include-unknown-enum-members' };
    const [ri] = values<Incident>(await graph('/v1.0/security/incidents?$expand=alerts', token, prefer));
    assert.equal(ri?.status, 'awaitingAction');
    assert.equal(ri?.alerts?.[0]?.serviceSource, 'microsoftDefenderForCloud');
    assert.equal((await graph(`/v1.0/security/alerts_v2/${alertId}`, token, prefer)).json.detectionSource, 'microsoftDefenderForServers');
  });

  test('incidents embed their alerts only with $expand; updates reach the embedded copy', async () => {
    const [incident] = sim.addIncidents(1, { alertsPerIncident: 3, at: new Date('2024-06-01T00:00:00Z') });
    const plain = values<Incident>(await graph('/v1.0/security/incidents', token));
    assert.equal(plain.length, 1);
    assert.equal('alerts' in plain[0]!, false);

    const alertIds = incident!.alerts!.map((a) => a.id);
    sim.updateAlert(alertIds[1]!, { status: 'new', resolvedDateTime: null });
    const updated = sim.updateAlert(alertIds[1]!, { status: 'resolved', assignedTo: 'analyst@contoso.com' }, new Date('2024-06-02T00:00:00Z'));
    assert.equal(updated.lastUpdateDateTime, '2024-06-02T00:00:00.0000000Z');
    assert.equal(updated.resolvedDateTime, '2024-06-02T00:00:00.0000000Z');

    const expanded = await graph('/v1.0/security/incidents?$expand=alerts', token);
    assert.equal(expanded.json['@odata.context'], `${base}/v1.0/$metadata#security/incidents(alerts())`);
    const embedded = values<Incident>(expanded)[0]!.alerts!;
    assert.deepEqual(new Set(embedded.map((a) => a.id)), new Set(alertIds));
    assert.equal(embedded.find((a) => a.id === alertIds[1])?.status, 'resolved');

    const byIncident = await graph(`/v1.0/security/alerts_v2?${q({ $filter: `incidentId eq '${incident!.id}'` })}`, token);
    assert.deepEqual(new Set(values<Alert>(byIncident).map((a) => a.id)), new Set(alertIds));

    const single = await graph(`/v1.0/security/incidents/${incident!.id}?$expand=alerts`, token);
    assert.equal(single.status, 200);
    assert.equal(single.json['@odata.context'], `${base}/v1.0/$metadata#security/incidents(alerts())/$entity`);
    assert.equal((single.json.alerts as Alert[]).length, 3);
    assert.equal((await graph('/v1.0/security/incidents/999999999', token)).status, 404);
    assert.equal((await graph('/v1.0/security/alerts_v2?$expand=evidence', token)).status, 400);
  });

  test('expandFailsWithFilter: a persistent 500 only for $expand=alerts together with $filter', async () => {
    const [incident] = sim.addIncidents(3, { alertsPerIncident: 2, at: new Date('2024-06-01T00:00:00Z'), spreadMs: 60_000 });
    sim.expandFailsWithFilter = true;
    const filter = q({ $filter: 'lastUpdateDateTime ge 2024-05-01T00:00:00Z', $expand: 'alerts', $top: '25' });
    for (let i = 0; i < 3; i++) {
      const failed = await graph(`/v1.0/security/incidents?${filter}`, token);
      assert.equal(failed.status, 500);
      assert.equal(errorOf(failed).code, 'InternalServerError');
    }
    assert.equal((await graph('/v1.0/security/incidents?$expand=alerts', token)).status, 200);
    const filtered = await graph(`/v1.0/security/incidents?${q({ $filter: 'lastUpdateDateTime ge 2024-05-01T00:00:00Z' })}`, token);
    assert.equal(values(filtered).length, 3);
    const single = await graph(`/v1.0/security/incidents/${incident!.id}?$expand=alerts`, token);
    assert.equal((single.json.alerts as Alert[]).length, 2);
  });
});

describe('faults', () => {
  let token: string;
  before(async () => {
    token = await secretToken();
  });

  test('429 with Retry-After and Graph\'s default body; times counts down; first matching rule wins', async () => {
    sim.faults.push(
      { match: /alerts_v2/, fault: { kind: 'status', status: 503 }, times: 0 },
      { match: /alerts_v2/, fault: { kind: 'status', status: 429, retryAfter: '7' }, times: 2 },
      { match: /alerts_v2/, fault: { kind: 'status', status: 503 }, times: 1 },
    );
    for (let i = 0; i < 2; i++) {
      const r = await graph('/v1.0/security/alerts_v2', token);
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '7');
      assert.equal(errorOf(r).code, 'TooManyRequests');
      assert.equal(errorOf(r).message, 'Too many requests');
    }
    const unavailable = await graph('/v1.0/security/alerts_v2', token);
    assert.equal(unavailable.status, 503);
    assert.equal(errorOf(unavailable).code, 'ServiceUnavailable');
    assert.equal((await graph('/v1.0/security/alerts_v2', token)).status, 200);
    assert.deepEqual(sim.faults.map((f) => f.times), [0, 0, 0]);
    assert.deepEqual(sim.requests.slice(-4).map((r) => r.status), [429, 429, 503, 200]);
  });

  test('429 that only says "Try again in N seconds" in the body; custom bodies; Entra-shaped token faults', async () => {
    sim.faults.push(
      { match: /incidents/, fault: { kind: 'status', status: 429, retryAfter: '3', bodyRetryText: true }, times: 1 },
      { match: /incidents/, fault: { kind: 'status', status: 502, body: '<html><body>Bad Gateway</body></html>' }, times: 1 },
      { match: /oauth2/, fault: { kind: 'status', status: 500 }, times: 1 },
    );
    const text = await graph('/v1.0/security/incidents', token);
    assert.equal(text.status, 429);
    assert.equal(text.headers['retry-after'], undefined);
    assert.match(errorOf(text).message, /Try again in 3 seconds/);
    const html = await graph('/v1.0/security/incidents', token);
    assert.equal(html.status, 502);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.equal(html.text, '<html><body>Bad Gateway</body></html>');
    const entra = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE });
    assertEntraError(entra, 500, 'temporarily_unavailable', 90033);
  });

  test('reset drops the connection without a response', async () => {
    sim.faults.push({ match: /alerts_v2/, fault: { kind: 'reset' }, times: 1 });
    await assert.rejects(graph('/v1.0/security/alerts_v2', token));
    assert.equal(sim.requests.at(-1)?.status, 0);
    assert.equal((await graph('/v1.0/security/alerts_v2', token)).status, 200);
  });

  test('truncate promises the whole body, sends half, then closes', async () => {
    sim.addAlerts(20, { at: new Date('2024-06-01T00:00:00Z'), spreadMs: 60_000 });
    sim.faults.push({ match: /alerts_v2/, fault: { kind: 'truncate' }, times: 1 });
    const res = await request(`${base}/v1.0/security/alerts_v2`, { headers: { authorization: `Bearer ${token}` }, dispatcher });
    assert.equal(res.statusCode, 200);
    assert.ok(Number(res.headers['content-length']) > 10_000);
    await assert.rejects(res.body.text());
    assert.equal(values((await graph('/v1.0/security/alerts_v2', token))).length, 20);
  });

  test('delay holds the response', async () => {
    sim.faults.push({ match: /\$top=2/, fault: { kind: 'delay', ms: 300 }, times: 1 });
    const started = Date.now();
    const r = await graph('/v1.0/security/alerts_v2?$top=2', token);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - started >= 290);
  });

  test('a rule with a tenant takes only that tenant\'s requests: its token endpoint, and calls with its tokens', async () => {
    const other = randomUUID();
    sim.apps.push({ tenantId: other, clientId: CLIENT, clientSecret: SECRET, roles: ROLES });
    try {
      sim.faults.push(
        { match: /oauth2/, tenant: other, fault: { kind: 'status', status: 503 }, times: 1 },
        { match: /alerts_v2/, tenant: other, fault: { kind: 'status', status: 503 }, times: 1 },
      );
      assert.equal((await graph('/v1.0/security/alerts_v2', token)).status, 200);
      assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE })).status, 200);
      assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE }, other)).status, 503);
      const otherToken = await tokenRequest({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: GRAPH_SCOPE }, other);
      assert.equal(otherToken.status, 200);
      assert.equal((await graph('/v1.0/security/alerts_v2', String(otherToken.json.access_token))).status, 503);
      assert.deepEqual(sim.faults.slice(-2).map((f) => f.times), [0, 0]);
    } finally {
      sim.apps.pop();
    }
  });
});

describe('documents', () => {
  test('realistic, unique, deterministic for a seed', async () => {
    const tls = await makeLocalCertificate();
    const make = () => new GraphSimulator({ tls, apps: [{ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, roles: ROLES }], seed: 42 });
    const at = new Date('2024-05-01T10:11:12.123Z');
    const a = make();
    const b = make();
    const alertsA = a.addAlerts(60, { at, spreadMs: 86_400_000 });
    const incidentsA = a.addIncidents(20, { alertsPerIncident: 2, at, spreadMs: 86_400_000 });
    b.addAlerts(60, { at, spreadMs: 86_400_000 });
    b.addIncidents(20, { alertsPerIncident: 2, at, spreadMs: 86_400_000 });
    assert.deepEqual([...a.alerts.values()], [...b.alerts.values()]);
    assert.deepEqual([...a.incidents.values()], [...b.incidents.values()]);

    const all = [...a.alerts.values()];
    assert.equal(all.length, 100);
    assert.equal(new Set(all.map((x) => x.id)).size, 100);
    assert.equal(new Set(incidentsA.map((x) => x.id)).size, 20);
    assert.ok(all.some((x) => /^da\d{18}_-?\d+$/.test(x.id)), 'MDE-style ids');
    assert.ok(all.every((x) => /^\d+$/.test(x.incidentId)));
    for (const x of all) {
      for (const field of ['createdDateTime', 'lastUpdateDateTime'] as const) assert.match(x[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
      assert.ok(toTicks(x.lastUpdateDateTime)! <= toTicks('2024-05-01T10:11:12.123Z')!);
    }
    assert.ok(alertsA.every((x) => x.mitreTechniques !== undefined && x.evidence.length > 0));
    assert.ok(new Set(all.map((x) => x.serviceSource)).size >= 4);
    assert.ok(new Set(all.map((x) => x.severity)).size >= 3);
    assert.ok(new Set(all.map((x) => x.status)).size >= 2);
    const sizes = all.map((x) => JSON.stringify(x).length).sort((p, r) => p - r);
    const median = sizes[Math.floor(sizes.length / 2)]!;
    assert.ok(median > 2500 && median < 7000, `median alert size ${median}`);

    const kinds = new Set(all.flatMap((x) => x.evidence.map((e) => e['@odata.type'])));
    for (const kind of ['device', 'process', 'file', 'user', 'ip', 'url', 'mailbox', 'analyzedMessage', 'futureThing']) {
      assert.ok(kinds.has(`#microsoft.graph.security.${kind}Evidence`), kind);
    }
    const commandLines = all.flatMap((x) => x.evidence).map((e) => (e as { processCommandLine?: unknown }).processCommandLine).filter((c): c is string => typeof c === 'string');
    for (const needle of ['<', '&', ']]>', '"', '\u0000', '\u001b', '\ud83d\udd25']) {
      assert.ok(commandLines.some((c) => c.includes(needle)), `hostile ${JSON.stringify(needle)}`);
    }
    assert.ok(commandLines.some((c) => /\ud800(?![\udc00-\udfff])/.test(c)), 'a lone surrogate');
    assert.ok(commandLines.some((c) => c.length > 5000), 'a very long command line');

    const statuses = new Set(incidentsA.map((x) => x.status));
    assert.ok(statuses.has('awaitingAction') && statuses.has('redirected'), [...statuses].join());
    for (const x of incidentsA.filter((i) => i.status === 'redirected')) assert.ok(x.redirectIncidentId && a.incidents.has(x.redirectIncidentId));
    for (const x of incidentsA) assert.ok(x.alerts!.every((al) => al.incidentId === x.id && a.alerts.get(al.id) === al));
  });
});
