/**
 * End to end: the alert actions' built bundles, started through their launchers the way splunkd's
 * sendmodalert does (`--execute`, JSON payload on stdin, results as a gzipped CSV file), against
 * the Graph simulator and the splunkd stand-in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { actionPayload, parseStream, runActionProcess, runConfigXml, runInputProcess, writeResultsFile } from '../../tools/harness.js';
import type { Alert } from '../../tools/simulator/graph.js';
import { useStandIns } from '../helpers/standIns.js';

const ALERT_WRITE = 'SecurityAlert.ReadWrite.All';
const INCIDENT_WRITE = 'SecurityIncident.ReadWrite.All';

const s = useStandIns({ built: 'defender_update_alert.sh' });
afterEach(() => {
  s.graph.faults = [];
  s.graph.revokeRole(s.clientId, ALERT_WRITE);
  s.graph.revokeRole(s.clientId, INCIDENT_WRITE);
});

function freshAlerts(n: number): Alert[] {
  s.graph.alerts.clear();
  s.graph.incidents.clear();
  s.graph.requests = [];
  return s.graph.addAlerts(n, { at: new Date(Date.now() - 3_600_000), spreadMs: 600_000 }).map((a) => s.graph.updateAlert(a.id, { status: 'new', classification: 'unknown', determination: 'unknown', assignedTo: null }));
}

async function run(action: string, configuration: Record<string, string>, rows: Record<string, string | string[]>[]) {
  const file = writeResultsFile(s.workDir, rows);
  // A brisk pace keeps the suite short; the pacing itself is unit-tested (rate-limiter.test.ts).
  const r = await runActionProcess(action, actionPayload(s, action, { account: 'prod', requests_per_minute: '3000', ...configuration }, file));
  // Everything an action prints must be free of the test secrets (CI also scans TA_TEST_OUTPUT_LOG).
  assert.ok(!r.stderr.includes(s.clientSecret) && !r.stderr.includes(s.sessionKey) && !r.stderr.includes('Canary~'), 'a secret leaked');
  assert.equal(r.stdout, '');
  return r;
}

const graphCalls = (method: string) => s.graph.requests.filter((r) => r.method === method && r.path.startsWith('/v1.0/'));
const outcomes = (stderr: string, outcome: string) => stderr.split('\n').filter((l) => l.includes(` outcome=${outcome}`));
const summary = (stderr: string) => {
  const line = stderr.split('\n').find((l) => / finished: /.test(l));
  assert.ok(line, `no summary line in:\n${stderr}`);
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
};

describe('defender_update_alert', () => {
  test('updates each alert, comments once, logs each outcome and a summary; a second run changes nothing', async () => {
    const alerts = freshAlerts(3);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const before = alerts.map((a) => a.lastUpdateDateTime);
    const config = { status: 'resolved', classification: 'truePositive', determination: 'malware', assigned_to: 'soc@contoso.com', comment: 'Contained by $name$ playbook' };
    const rows = alerts.map((a) => ({ id: a.id, title: a.title, severity: a.severity }));
    const first = await run('defender_update_alert', config, rows);
    assert.equal(first.code, 0, first.stderr);
    for (const [i, a] of alerts.entries()) {
      const now = s.graph.alerts.get(a.id)!;
      assert.equal(now.status, 'resolved');
      assert.equal(now.classification, 'truePositive');
      assert.equal(now.determination, 'malware');
      assert.equal(now.assignedTo, 'soc@contoso.com');
      assert.ok(now.resolvedDateTime);
      assert.equal(now.comments.filter((c) => c.comment === config.comment).length, 1);
      assert.ok(now.lastUpdateDateTime > before[i]!, 'a new lastUpdateDateTime, so the input re-ingests it');
    }
    assert.equal(outcomes(first.stderr, 'updated').length, 3);
    assert.match(first.stderr, /^INFO Alert updated .*changed=status,classification,determination,assignedTo,comment/m);
    assert.equal(summary(first.stderr).updated, '3');
    assert.equal(graphCalls('PATCH').length, 3);
    assert.equal(graphCalls('POST').length, 3);

    s.graph.requests = [];
    const stamps = alerts.map((a) => s.graph.alerts.get(a.id)!.lastUpdateDateTime);
    const second = await run('defender_update_alert', config, rows);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(outcomes(second.stderr, 'unchanged').length, 3);
    assert.equal(graphCalls('PATCH').length + graphCalls('POST').length, 0, 'nothing written the second time');
    assert.deepEqual(alerts.map((a) => s.graph.alerts.get(a.id)!.lastUpdateDateTime), stamps);
  });

  test('an unknown id is logged as not found and the others are still updated', async () => {
    const alerts = freshAlerts(2);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const r = await run('defender_update_alert', { status: 'inProgress' }, [{ id: alerts[0]!.id }, { id: 'da000000000000000000_-1' }, { id: alerts[1]!.id }]);
    assert.equal(r.code, 1, 'not everything was updated');
    assert.match(r.stderr, /^WARN Alert not updated: no alert with this id .* id=da000000000000000000_-1 outcome=not_found/m);
    assert.equal(s.graph.alerts.get(alerts[0]!.id)!.status, 'inProgress');
    assert.equal(s.graph.alerts.get(alerts[1]!.id)!.status, 'inProgress');
    const sum = summary(r.stderr);
    assert.equal(sum.updated, '2');
    assert.equal(sum.not_found, '1');
  });

  test('without SecurityAlert.ReadWrite.All: says so plainly, stops after the first refusal, changes nothing', async () => {
    const alerts = freshAlerts(4);
    const r = await run('defender_update_alert', { status: 'resolved' }, alerts.map((a) => ({ id: a.id })));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR Alert not updated, and the run stops: .*Grant the application permission SecurityAlert\.ReadWrite\.All .*can read alerts \(SecurityAlert\.Read\.All\) but not change them/m);
    assert.equal(graphCalls('PATCH').length, 1, 'no PATCH after the first 403');
    const sum = summary(r.stderr);
    assert.equal(sum.forbidden, '1');
    assert.equal(sum.skipped, '3');
    for (const a of alerts) assert.equal(s.graph.alerts.get(a.id)!.status, 'new');
  });

  test('invalid values are refused before any call, naming the setting and the accepted values', async () => {
    freshAlerts(1);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const cases: [Record<string, string>, RegExp][] = [
      [{ status: 'closed' }, /status: "closed" is not one of new, inProgress, resolved/],
      [{ status: 'unknownFutureValue' }, /status: "unknownFutureValue" is not one of/],
      [{ classification: 'falsePositive', determination: 'malware' }, /determination: "malware" does not go with classification falsePositive; use one of notMalicious/],
      [{ determination: 'phishing' }, /determination: set classification too/],
      [{ max_updates: 'lots', status: 'new' }, /max_updates: "lots" is not a positive whole number/],
      [{}, /nothing to do/],
    ];
    for (const [config, expected] of cases) {
      s.graph.requests = [];
      const r = await run('defender_update_alert', config, [{ id: [...s.graph.alerts.keys()][0]! }]);
      assert.equal(r.code, 1, JSON.stringify(config));
      assert.match(r.stderr, /^ERROR defender_update_alert failed: defender_update_alert: invalid configuration, nothing was sent to Microsoft Graph\./m);
      assert.match(r.stderr, expected);
      assert.equal(s.graph.requests.length, 0, 'no call to Entra or Graph');
    }
  });

  test('the documentation\'s older determination names are sent as the current members', async () => {
    const [alert] = freshAlerts(1);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const r = await run('defender_update_alert', { classification: 'truePositive', determination: 'compromisedUser' }, [{ id: alert!.id }]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.graph.alerts.get(alert!.id)!.determination, 'compromisedAccount');
  });

  test('throttling: a 429 with Retry-After is waited out; an id still throttled after the retries is reported and the rest go on', async () => {
    const alerts = freshAlerts(3);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const escaped = (id: string) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    s.graph.faults.push({ match: new RegExp(`alerts_v2/${escaped(alerts[0]!.id)}$`), fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 1 });
    s.graph.faults.push({ match: new RegExp(`alerts_v2/${escaped(alerts[1]!.id)}$`), fault: { kind: 'status', status: 429, retryAfter: '1' }, times: 100 });
    const r = await run('defender_update_alert', { status: 'resolved' }, alerts.map((a) => ({ id: a.id })));
    assert.equal(r.code, 1);
    assert.equal(s.graph.alerts.get(alerts[0]!.id)!.status, 'resolved');
    assert.equal(s.graph.alerts.get(alerts[1]!.id)!.status, 'new');
    assert.equal(s.graph.alerts.get(alerts[2]!.id)!.status, 'resolved');
    assert.match(r.stderr, new RegExp(`^WARN Alert not updated: still throttled after retries .* id=${escaped(alerts[1]!.id)} outcome=throttled`, 'm'));
    const sum = summary(r.stderr);
    assert.equal(sum.updated, '2');
    assert.equal(sum.throttled, '1');
  });

  test('a Retry-After beyond the cap: the id is not retried before Graph said, and the ids after it are reported throttled, not sent', async () => {
    const alerts = freshAlerts(3);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const escaped = (id: string) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    s.graph.faults.push({ match: new RegExp(`alerts_v2/${escaped(alerts[0]!.id)}$`), fault: { kind: 'status', status: 429, retryAfter: '600' }, times: 100 });
    const r = await run('defender_update_alert', { status: 'resolved' }, alerts.map((a) => ({ id: a.id })));
    assert.equal(r.code, 1);
    assert.equal(s.graph.requests.filter((q) => q.path.includes(alerts[0]!.id)).length, 1, 'no retry before the 600 s Graph asked for');
    assert.equal(s.graph.requests.filter((q) => q.path.includes(alerts[1]!.id) || q.path.includes(alerts[2]!.id)).length, 0, 'nothing sent after it');
    assert.ok(alerts.every((a) => s.graph.alerts.get(a.id)!.status === 'new'));
    assert.match(r.stderr, /^ERROR Graph asked to wait 600 s: 2 alerts not sent; run the alert again after \S+ .*not_sent=2/m);
    assert.equal(summary(r.stderr).throttled, '3');
  });

  test('a 5xx on the comment POST is not retried (it may have been stored); the next run adds what is missing', async () => {
    const [alert] = freshAlerts(1);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    s.graph.faults.push({ match: /\/comments$/, fault: { kind: 'status', status: 503 }, times: 1 });
    const config = { status: 'resolved', comment: 'Closed from Splunk' };
    const first = await run('defender_update_alert', config, [{ id: alert!.id }]);
    assert.equal(first.code, 1);
    assert.equal(graphCalls('POST').length, 1, 'no retry of the POST');
    assert.match(first.stderr, /^ERROR Alert not updated: comment failed: HTTP 503 .*\(status already changed\) .*outcome=failed changed=status/m);
    const second = await run('defender_update_alert', config, [{ id: alert!.id }]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /outcome=updated changed=comment$/m);
    assert.equal(s.graph.alerts.get(alert!.id)!.comments.filter((c) => c.comment === config.comment).length, 1);
  });

  test('hundreds of results (with duplicates and a multivalue cell) and the max_updates cap', async () => {
    const alerts = freshAlerts(320);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    // Rows as a stats search gives them: some alerts twice, two ids in one multivalue cell.
    const rows: Record<string, string | string[]>[] = alerts.slice(0, 300).map((a) => ({ id: a.id, 'Alert title': a.title }));
    rows.push({ id: alerts[0]!.id }, { id: [alerts[300]!.id, alerts[301]!.id] }, { other: 'no id here' });
    const r = await run('defender_update_alert', { status: 'inProgress', max_updates: '1000', requests_per_minute: '3000' }, rows);
    assert.equal(r.code, 0, r.stderr);
    const sum = summary(r.stderr);
    assert.equal(sum.results, '303');
    assert.equal(sum.ids, '302');
    assert.equal(sum.updated, '302');
    assert.equal(graphCalls('PATCH').length, 302);
    assert.match(r.stderr, /^WARN 1 of 303 results have no id field value/m);
    assert.equal(alerts.filter((a) => s.graph.alerts.get(a.id)!.status === 'inProgress').length, 302);

    s.graph.requests = [];
    const capped = await run('defender_update_alert', { status: 'resolved', max_updates: '25', requests_per_minute: '3000' }, alerts.map((a) => ({ id: a.id })));
    assert.equal(capped.code, 0, capped.stderr);
    assert.equal(graphCalls('PATCH').length, 25);
    assert.match(capped.stderr, /^WARN More alerts than max_updates: only the first 25 are updated .*skipped_cap=295/m);
    assert.equal(summary(capped.stderr).skipped_cap, '295');
  });

  test('an update made from Splunk comes back through the alerts input', async () => {
    const alerts = freshAlerts(5);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
    const poll = async () => {
      const r = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'prod', params, cp));
      assert.equal(r.code, 0, r.stderr);
      return parseStream(r.stdout).map((e) => JSON.parse(e.data) as Alert);
    };
    assert.equal((await poll()).length, 5);
    const r = await run('defender_update_alert', { status: 'resolved', classification: 'falsePositive', determination: 'notMalicious', comment: 'Benign admin script' }, [{ id: alerts[2]!.id }]);
    assert.equal(r.code, 0, r.stderr);
    const again = await poll();
    assert.deepEqual(again.map((a) => a.id), [alerts[2]!.id]);
    assert.equal(again[0]!.status, 'resolved');
    assert.equal(again[0]!.determination, 'notMalicious');
    assert.ok(again[0]!.comments.some((c) => c.comment === 'Benign admin script'));
  });
});

describe('defender_update_incident', () => {
  test('updates incidents by id, adds tags without dropping existing ones, comments once', async () => {
    s.graph.alerts.clear();
    s.graph.incidents.clear();
    const incidents = s.graph.addIncidents(3, { at: new Date(Date.now() - 3_600_000) });
    s.graph.updateIncident(incidents[0]!.id, { customTags: ['existing'], status: 'active' });
    s.graph.grantRole(s.clientId, INCIDENT_WRITE);
    s.graph.requests = [];
    // From alert events: the incident id is in incidentId; two alerts of one incident give one update.
    const rows = incidents.flatMap((i) => (i.alerts ?? []).map((a) => ({ id: a.id, incidentId: i.id })));
    const config = { id_field: 'incidentId', status: 'awaitingAction', assigned_to: 'tier2@contoso.com', add_tags: 'splunk, triaged', comment: 'Escalated from Splunk' };
    const r = await run('defender_update_incident', config, rows);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(graphCalls('PATCH').length, 3);
    for (const i of incidents) {
      const now = s.graph.incidents.get(i.id)!;
      assert.equal(now.status, 'awaitingAction');
      assert.equal(now.assignedTo, 'tier2@contoso.com');
      assert.ok(now.customTags.includes('splunk') && now.customTags.includes('triaged'));
      assert.equal(now.comments.filter((c) => c.comment === 'Escalated from Splunk').length, 1);
    }
    assert.ok(s.graph.incidents.get(incidents[0]!.id)!.customTags.includes('existing'));

    const again = await run('defender_update_incident', config, rows);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(summary(again.stderr).unchanged, '3');
  });

  test('an alert id given to the incident action is refused per row without a call, naming the right field', async () => {
    s.graph.incidents.clear();
    s.graph.requests = [];
    s.graph.grantRole(s.clientId, INCIDENT_WRITE);
    const r = await run('defender_update_incident', { status: 'resolved' }, [{ id: 'da637551227677560813_-961444813' }]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR Incident not updated: .*is not a numeric incident id .*incidentId of an alert.* outcome=invalid_id/m);
    assert.equal(graphCalls('GET').length, 0);
  });

  test('without SecurityIncident.ReadWrite.All the message names it', async () => {
    s.graph.incidents.clear();
    const [incident] = s.graph.addIncidents(1);
    const r = await run('defender_update_incident', { status: 'resolved' }, [{ id: incident!.id }]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Grant the application permission SecurityIncident\.ReadWrite\.All/);
  });
});

describe('how splunkd calls it', () => {
  test('anything but --execute is refused; a payload that is not JSON is reported', async () => {
    const noMode = await runInputProcess('defender_update_alert', [], '{}');
    assert.equal(noMode.code, 2);
    assert.match(noMode.stderr, /^ERROR Unknown mode \(none\): splunkd runs alert actions with --execute/m);
    const xml = await runActionProcess('defender_update_alert', '<alert><session_key>x</session_key></alert>');
    assert.equal(xml.code, 1);
    assert.match(xml.stderr, /payload_format = json/);
  });

  test('no results file: the inline first result is used', async () => {
    const [alert] = freshAlerts(1);
    s.graph.grantRole(s.clientId, ALERT_WRITE);
    const payload = JSON.parse(actionPayload(s, 'defender_update_alert', { account: 'prod', status: 'resolved' })) as Record<string, unknown>;
    payload.result = { id: alert!.id, title: alert!.title };
    const r = await runActionProcess('defender_update_alert', JSON.stringify(payload));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.graph.alerts.get(alert!.id)!.status, 'resolved');
  });
});
