/**
 * Golden tests of the shipped search-time knowledge: each fixture under test/fixtures/<sourcetype>/
 * (colons of the sourcetype written as underscores) is run through the shipped default/*.conf and
 * lookups/ by the search-time evaluator, and must yield the CIM fields, eventtypes and tags an
 * analyst would see, and none of the fields listed as absent.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { recordEvent, STREAMING_SOURCETYPE } from '../../src/sources/streaming/records.js';
import { evaluate, lintApp, loadApp } from '../helpers/searchtime/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
const app = loadApp(ROOT);

interface Expected {
  /** The event's source; default `<folder>://golden`. */
  source?: string;
  eventtypes: string[];
  tags: string[];
  fields: Record<string, string | string[]>;
  absent: string[];
}

test('the shipped knowledge objects lint clean', () => {
  assert.deepEqual(lintApp(app), []);
});

// microsoft-docs holds Microsoft's documented examples, tested end to end (test/e2e/microsoft-docs-cim.test.ts).
for (const folder of readdirSync(FIXTURES).filter((f) => f !== 'microsoft-docs')) {
  const sourcetype = folder.replace(/_/g, ':');
  describe(sourcetype, () => {
    const cases = readdirSync(path.join(FIXTURES, folder)).filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'));
    assert.ok(cases.length > 0);
    for (const file of cases) {
      test(file.replace(/\.json$/, ''), () => {
        const fixture: unknown = JSON.parse(readFileSync(path.join(FIXTURES, folder, file), 'utf8'));
        const expected = JSON.parse(readFileSync(path.join(FIXTURES, folder, file.replace(/\.json$/, '.expected.json')), 'utf8')) as Expected;
        let raw = JSON.stringify(fixture);
        let source = expected.source ?? `${folder}://golden`;
        if (sourcetype === STREAMING_SOURCETYPE) {
          // Streaming fixtures are Streaming API records as Microsoft documents them: the input's
          // own mapping makes the event (columns flattened, source = table), then search time runs.
          const event = recordEvent(fixture, 'unknown', 0);
          raw = String(event.data);
          source = event.source ?? source;
        }
        const result = evaluate(app, { sourcetype, source, raw });
        assert.deepEqual([...result.eventtypes].sort(), [...expected.eventtypes].sort(), 'eventtypes');
        assert.deepEqual([...result.tags].sort(), [...expected.tags].sort(), 'tags');
        for (const [field, value] of Object.entries(expected.fields)) {
          assert.deepEqual(result.fields.get(field), Array.isArray(value) ? value : [value], `field ${field}`);
        }
        for (const field of expected.absent) assert.equal(result.fields.get(field), undefined, `${field} should be absent`);
      });
    }
  });
}

test('every sourcetype the inputs emit has fixtures', async () => {
  const { ALERT_SOURCETYPE } = await import('../../src/sources/graph-alerts/index.js');
  const { INCIDENT_SOURCETYPE } = await import('../../src/sources/graph-incidents/index.js');
  const { MDE_ALERT_SOURCETYPE, SIEM_ALERT_SOURCETYPE } = await import('../../src/sources/mde-alerts/index.js');
  const folders = readdirSync(FIXTURES);
  for (const sourcetype of [ALERT_SOURCETYPE, INCIDENT_SOURCETYPE, MDE_ALERT_SOURCETYPE, SIEM_ALERT_SOURCETYPE, STREAMING_SOURCETYPE]) assert.ok(folders.includes(sourcetype.replace(/:/g, '_')), sourcetype);
});

test('every simulated alert and incident maps cleanly (property check over realistic documents)', async () => {
  const { GraphSimulator } = await import('../../tools/simulator/graph.js');
  // Not started: only its document store is used.
  const sim = new GraphSimulator({ tls: { key: '', cert: '' }, apps: [] });
  const incidents = sim.addIncidents(20, { alertsPerIncident: 4, at: new Date('2024-05-01T00:00:00Z'), spreadMs: 86_400_000 });
  const alerts = [...sim.alerts.values()];
  assert.ok(alerts.length >= 80);
  const severities = new Set(['critical', 'high', 'medium', 'low', 'informational', 'unknown']);
  for (const alert of alerts) {
    const { fields, tags } = evaluate(app, { sourcetype: 'ms:defender:alert', raw: JSON.stringify(alert) });
    assert.ok(tags.includes('alert'));
    assert.equal(fields.get('vendor_product')?.[0], 'Microsoft Defender XDR');
    assert.ok(severities.has(fields.get('severity')?.[0] ?? ''), `severity ${fields.get('severity')}`);
    assert.ok(fields.get('signature')?.[0]);
    const devices = alert.evidence.filter((e) => e['@odata.type'].endsWith('deviceEvidence') && 'deviceDnsName' in e && e.deviceDnsName);
    // A device names the affected system; without one, dest comes from other evidence (mailbox, cloud resource ...).
    if (devices.length > 0) assert.deepEqual(fields.get('dest'), [...new Set(devices.map((d) => (d as { deviceDnsName: string }).deviceDnsName))], `dest of ${alert.id}`);
    for (const value of [...(fields.get('dest') ?? []), ...(fields.get('user') ?? []), ...(fields.get('file_hash') ?? [])]) assert.notEqual(value, 'null');
    if (tags.includes('malware')) assert.ok(['blocked', 'allowed'].includes(fields.get('action')?.[0] ?? ''), `action of ${alert.id}`);
  }
  for (const incident of incidents) {
    const { fields, tags } = evaluate(app, { sourcetype: 'ms:defender:incident', raw: JSON.stringify(incident) });
    assert.deepEqual(tags.filter((t) => t === 'ticketing' || t === 'incident').sort(), ['incident', 'ticketing']);
    assert.equal(fields.get('ticket_id')?.[0], incident.id);
    assert.ok(fields.get('priority')?.[0]);
  }
});

test('every simulated Defender for Endpoint alert maps cleanly, in both layouts', async () => {
  const { GraphSimulator } = await import('../../tools/simulator/graph.js');
  const { toSiemRecord } = await import('../../src/sources/mde-alerts/siemFormat.js');
  const sim = new GraphSimulator({ tls: { key: '', cert: '' }, apps: [] });
  const alerts = sim.mde.addAlerts(60, { at: new Date('2024-05-01T00:00:00Z'), spreadMs: 86_400_000 });
  const severities = new Set(['high', 'medium', 'low', 'informational', 'unknown']);
  for (const alert of alerts) {
    for (const [sourcetype, raw] of [
      ['ms:defender:endpoint:alert', JSON.stringify(alert)],
      ['ms:defender:siem:alert', JSON.stringify(toSiemRecord(alert as unknown as Record<string, unknown>, 'https://security.microsoft.com'))],
    ] as const) {
      const { fields, tags } = evaluate(app, { sourcetype, raw });
      assert.ok(tags.includes('alert'), `${sourcetype} ${alert.id}`);
      assert.equal(fields.get('id')?.[0], alert.id);
      assert.equal(fields.get('vendor_product')?.[0], 'Microsoft Defender for Endpoint');
      assert.ok(severities.has(fields.get('severity')?.[0] ?? ''), `severity ${fields.get('severity')}`);
      assert.ok(fields.get('signature')?.[0]);
      assert.equal(fields.get('dest')?.[0], alert.computerDnsName ?? undefined, `dest of ${alert.id}`);
      for (const value of [...(fields.get('dest') ?? []), ...(fields.get('user') ?? []), ...(fields.get('file_hash') ?? []), ...(fields.get('src') ?? [])]) assert.notEqual(value, 'null');
      if (tags.includes('malware')) assert.ok(['blocked', 'allowed'].includes(fields.get('action')?.[0] ?? ''), `action of ${alert.id}`);
    }
  }
});

test('the hunting input\'s rows get the same CIM mapping as streamed advanced-hunting records', () => {
  const props = readFileSync(path.join(ROOT, 'default', 'props.conf'), 'utf8');
  const cimLines = (stanza: string) => {
    const start = props.indexOf(`[${stanza}]`);
    const end = props.indexOf('\n[', start + 1);
    return props.slice(start, end < 0 ? undefined : end).split('\n').filter((l) => /^(EVAL|LOOKUP|FIELDALIAS|REPORT)-/.test(l));
  };
  assert.ok(cimLines('ms:defender:advancedhunting').length > 40);
  assert.deepEqual(cimLines('ms:defender:hunting'), cimLines('ms:defender:advancedhunting'));
});
