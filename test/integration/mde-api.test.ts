/**
 * The Defender for Endpoint client against the simulator's API: the WindowsDefenderATP token
 * resource, and the client-side budget keeping a caller under the API's limits before any 429.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { HttpClient } from '../../src/http/client.js';
import { HttpError } from '../../src/http/errors.js';
import { RateLimiter, type Clock } from '../../src/http/rateLimiter.js';
import { TokenProvider } from '../../src/microsoft/auth.js';
import { GraphClient, PermissionError, type GraphList } from '../../src/microsoft/graph.js';
import { createLogger } from '../../src/splunk/log.js';
import { GraphSimulator } from '../../tools/simulator/graph.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const logger = createLogger({ write: () => {} });
const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'S3cret~value', roles: ['Alert.Read.All'] };
let sim: GraphSimulator;
let http: HttpClient;
let tokens: TokenProvider;

before(async () => {
  const tls = await makeLocalCertificate();
  sim = new GraphSimulator({ tls, apps: [app] });
  await sim.start();
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'ca-')), 'ca.pem');
  writeFileSync(caFile, tls.cert);
  http = new HttpClient({ logger, caFile, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 } });
  tokens = new TokenProvider({ tenantId: app.tenantId, clientId: app.clientId, authType: 'client_secret', secret: app.clientSecret, loginUrl: sim.baseUrl }, http, logger);
  sim.mde.addAlerts(3, { at: new Date(Date.now() - 1000) });
});
after(async () => {
  await http.close();
  await sim.stop();
});

const client = (resource: string, extra: { rateLimiter?: RateLimiter } = {}) =>
  new GraphClient(http, tokens, sim.baseUrl, 'Alert.Read.All', { service: 'The Defender for Endpoint API', resource, headers: {}, ...extra });

test('a token for the WindowsDefenderATP resource is accepted; a Graph token is refused with 403', async () => {
  const mde = client('https://api.securitycenter.microsoft.com');
  const page = await mde.get<GraphList<{ id: string }>>(mde.url('/api/alerts', { $expand: 'evidence' }));
  assert.equal(page.value.length, 3);
  const scopes = sim.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
  assert.ok(scopes >= 1);
  const wrongAudience = client('https://graph.microsoft.com');
  await assert.rejects(wrongAudience.get(wrongAudience.url('/api/alerts')), PermissionError);
});

/** One clock for the simulator's budget and the client's limiter; only sleeping moves it. */
class SharedFakeClock implements Clock {
  t = Date.now();
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

test('the client-side limiter keeps a burst under the API budget: no 429, the calls spread over the minutes', async () => {
  const clock = new SharedFakeClock();
  sim.mde.now = () => clock.now();
  sim.mde.rateLimits = { perMinute: 5, perHour: 1500 };
  sim.mde.resetBudget();
  try {
    const limited = client('https://api.securitycenter.microsoft.com', { rateLimiter: new RateLimiter([{ limit: 5, windowMs: 60_000 }], clock) });
    const start = clock.t;
    const before = http.stats.throttled;
    for (let i = 0; i < 12; i++) await limited.get(limited.url('/api/alerts', { $top: '1' }));
    assert.equal(http.stats.throttled - before, 0, 'the API never had to refuse');
    assert.equal(clock.t - start, 120_000, 'calls 6-10 and 11-12 waited for the next minutes');

    // The same burst without the limiter reaches the simulator's limit and gets 429.
    sim.mde.resetBudget();
    const unlimited = client('https://api.securitycenter.microsoft.com');
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => unlimited.get(unlimited.url('/api/alerts', { $top: '1' }))));
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as HttpError).status === 429);
    assert.equal(refused.length, 1);
  } finally {
    sim.mde.now = () => Date.now();
    sim.mde.rateLimits = { perMinute: 100, perHour: 1500 };
    sim.mde.resetBudget();
  }
});

test('the simulated API answers like Defender for Endpoint: page cap, no $count, OData errors, 401 without a token', async () => {
  const mde = client('https://api.securitycenter.microsoft.com');
  const token = await tokens.token('https://api.securitycenter.microsoft.com');
  const raw = async (query: string, auth = true) => {
    const response = await http.send(`${sim.baseUrl}/api/alerts?${query}`, { headers: auth ? { authorization: `Bearer ${token}` } : {}, retry: { maxAttempts: 1 } }).catch((e: unknown) => e as HttpError);
    return response instanceof HttpError ? { status: response.status, body: response.body as { error: { code: string; message: string; target: string } } } : { status: response.status, body: JSON.parse(response.text) };
  };
  const tooBig = await raw('$top=10001');
  assert.equal(tooBig.status, 400);
  assert.equal(tooBig.body.error.code, 'ODataError');
  assert.ok(tooBig.body.error.target, 'a correlation id in "target"');
  assert.equal((await raw('$count=true')).status, 400);
  assert.match((await raw(`$filter=${encodeURIComponent("severity eq 'Severe'")}`)).body.error.message, /not a valid enumerated type/);
  assert.equal((await raw('$top=1', false)).status, 401);
  // Paging: $top items, then a nextLink by $skip; the link is followed verbatim.
  sim.mde.addAlerts(4, { at: new Date(Date.now() - 1000) });
  const first = await mde.get<GraphList<{ id: string }>>(mde.url('/api/alerts', { $top: '5' }));
  assert.equal(first.value.length, 5);
  assert.match(first['@odata.nextLink'] ?? '', /\$skip=5/);
  const second = await mde.get<GraphList<{ id: string }>>(first['@odata.nextLink']!);
  assert.equal(second.value.length, 2);
  assert.equal(second['@odata.nextLink'], undefined);
  assert.equal(new Set([...first.value, ...second.value].map((a) => a.id)).size, 7);
});
