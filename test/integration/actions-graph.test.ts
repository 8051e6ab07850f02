/**
 * GraphClient's PATCH and POST against the simulator's write endpoints: the validation errors
 * Graph sends, the write role, and the action's per-id logic (runUpdates) on top.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { RateLimiter } from '../../src/actions/rateLimiter.js';
import { parseUpdateRequest } from '../../src/actions/request.js';
import { ALERT_TARGET, INCIDENT_TARGET } from '../../src/actions/targets.js';
import { runUpdates } from '../../src/actions/update.js';
import { HttpClient } from '../../src/http/client.js';
import { HttpError } from '../../src/http/errors.js';
import { TokenProvider } from '../../src/microsoft/auth.js';
import { GraphClient, PermissionError } from '../../src/microsoft/graph.js';
import { createLogger } from '../../src/splunk/log.js';
import { GraphSimulator } from '../../tools/simulator/graph.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const logger = createLogger({ write: () => {} });
const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: 'Canary~graph-actions', roles: ['SecurityAlert.Read.All', 'SecurityIncident.Read.All'] };
let sim: GraphSimulator;
let http: HttpClient;
let alerts: GraphClient;
let incidents: GraphClient;

before(async () => {
  const tls = await makeLocalCertificate();
  sim = new GraphSimulator({ tls, apps: [app] });
  await sim.start();
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'ca-')), 'ca.pem');
  writeFileSync(caFile, tls.cert);
  http = new HttpClient({ logger, caFile, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 } });
  const tokens = new TokenProvider({ ...app, authType: 'client_secret', secret: app.clientSecret, loginUrl: sim.baseUrl }, http, logger);
  alerts = new GraphClient(http, tokens, sim.baseUrl, ALERT_TARGET.permission);
  incidents = new GraphClient(http, tokens, sim.baseUrl, INCIDENT_TARGET.permission);
});
after(async () => {
  await http.close();
  await sim.stop();
});
beforeEach(() => {
  sim.grantRole(app.clientId, 'SecurityAlert.ReadWrite.All');
  sim.grantRole(app.clientId, 'SecurityIncident.ReadWrite.All');
});

const alertUrl = (id: string) => alerts.url(`/v1.0/security/alerts_v2/${encodeURIComponent(id)}`);
async function graphError(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof HttpError, String(error));
  return error;
}

test('PATCH answers with the updated alert and a later lastUpdateDateTime', async () => {
  const [alert] = sim.addAlerts(1, { at: new Date(Date.now() - 60_000) });
  const updated = await alerts.patch<{ status: string; assignedTo: string; lastUpdateDateTime: string }>(alertUrl(alert!.id), { status: 'inProgress', assignedTo: 'a@contoso.com' });
  assert.equal(updated.status, 'inProgress');
  assert.equal(updated.assignedTo, 'a@contoso.com');
  assert.ok(updated.lastUpdateDateTime > alert!.lastUpdateDateTime);
  const patch = sim.requests.filter((r) => r.method === 'PATCH').at(-1)!;
  assert.equal(patch.headers['content-type'], 'application/json');
});

test('PATCH validation: Graph\'s 400 shapes for a bad enum, an unknown or read-only property, a non-JSON body', async () => {
  const [alert] = sim.addAlerts(1);
  const cases: [unknown, RegExp][] = [
    [{ status: 'closed' }, /BadRequest: Cannot convert the literal 'closed' to the expected type 'microsoft\.graph\.security\.alertStatus'/],
    [{ status: 'unknownFutureValue' }, /Cannot convert the literal 'unknownFutureValue'/],
    [{ determination: 'compromisedUser' }, /Cannot convert the literal 'compromisedUser' to the expected type 'microsoft\.graph\.security\.alertDetermination'/],
    [{ colour: 'red' }, /The property 'colour' does not exist on type 'microsoft\.graph\.security\.alert'/],
    [{ severity: 'low' }, /The property 'severity' cannot be updated/],
    [{ assignedTo: 42 }, /Edm\.String/],
    [[1, 2], /Unable to read JSON request payload/],
  ];
  for (const [body, expected] of cases) {
    const error = await graphError(alerts.patch(alertUrl(alert!.id), body));
    assert.equal(error.status, 400);
    assert.match(error.message, expected);
    assert.deepEqual(Object.keys((error.body as { error: Record<string, unknown> }).error), ['code', 'message', 'innerError']);
  }
  assert.equal(sim.alerts.get(alert!.id)!.lastUpdateDateTime, alert!.lastUpdateDateTime, 'a rejected PATCH changes nothing');
});

test('an evolvable member (incident status awaitingAction) needs Prefer: include-unknown-enum-members, which GraphClient sends', async () => {
  const [incident] = sim.addIncidents(1);
  const updated = await incidents.patch<{ status: string }>(incidents.url(`/v1.0/security/incidents/${incident!.id}`), { status: 'awaitingAction', customTags: ['a', 'b'] });
  assert.equal(updated.status, 'awaitingAction');
  assert.deepEqual(sim.incidents.get(incident!.id)!.customTags, ['a', 'b']);
  const response = await fetchWithoutPrefer(`/v1.0/security/incidents/${incident!.id}`, { status: 'awaitingAction' });
  assert.equal(response.status, 400);
});

async function fetchWithoutPrefer(pathName: string, body: unknown): Promise<{ status: number }> {
  const tokens = new TokenProvider({ ...app, authType: 'client_secret', secret: app.clientSecret, loginUrl: sim.baseUrl }, http, logger);
  const token = await tokens.token(sim.baseUrl);
  const r = await http.send(`${sim.baseUrl}${pathName}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch((e: unknown) => e);
  return { status: r instanceof HttpError ? r.status : (r as { status: number }).status };
}

test('404 for an unknown id, 403 naming the write permission when only the read role is granted', async () => {
  const missing = await graphError(alerts.patch(alertUrl('da000_-1'), { status: 'resolved' }));
  assert.equal(missing.status, 404);
  assert.match(missing.message, /NotFound: Alert with id 'da000_-1' was not found/);
  const [alert] = sim.addAlerts(1);
  sim.revokeRole(app.clientId, 'SecurityAlert.ReadWrite.All');
  await alerts.get(alertUrl(alert!.id));
  const denied = await alerts.post(`${alertUrl(alert!.id)}/comments`, { comment: 'x' }).catch((e: unknown) => e);
  assert.ok(denied instanceof PermissionError);
  assert.match(denied.message, /Missing application permissions: SecurityAlert\.ReadWrite\.All.*Grant the application permission SecurityAlert\.ReadWrite\.All/);
});

test('POST comments appends an alertComment and answers with the collection; an empty comment is a 400', async () => {
  const [alert] = sim.addAlerts(1);
  const count = alert!.comments.length;
  const reply = await alerts.post<{ value: { comment: string; createdByDisplayName: string }[] }>(`${alertUrl(alert!.id)}/comments`, { '@odata.type': 'microsoft.graph.security.alertComment', comment: 'From Splunk' });
  assert.equal(reply.value.length, count + 1);
  assert.equal(reply.value.at(-1)!.comment, 'From Splunk');
  assert.match(reply.value.at(-1)!.createdByDisplayName, /^API-App:/);
  const empty = await graphError(alerts.post(`${alertUrl(alert!.id)}/comments`, { comment: ' ' }));
  assert.equal(empty.status, 400);
});

test('runUpdates: a spent time budget skips the rest and says how to fix it', async () => {
  const added = sim.addAlerts(3);
  const lines: string[] = [];
  const request = parseUpdateRequest(ALERT_TARGET, { account: 'a', status: 'resolved' });
  let clock = 0;
  const summary = await runUpdates(
    {
      graph: alerts, target: ALERT_TARGET, request, limiter: new RateLimiter(6000), results: 3,
      logger: createLogger({ write: (l) => lines.push(l) }), deadlineMs: 1, now: () => clock++,
    },
    added.map((a) => a.id),
  );
  assert.equal(summary.updated, 2);
  assert.equal(summary.skipped, 1);
  assert.match(lines.join('\n'), /^ERROR Time budget used up: 1 alerts not updated; lower max_updates or raise requests_per_minute/m);
});
