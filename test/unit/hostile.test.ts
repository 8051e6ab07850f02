/** Property-based tests (fast-check): hostile configuration and API input never breaks the stream. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import fc from 'fast-check';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import { parseInputConfig } from '../../src/splunk/modinput.js';
import { graphWindowQuery } from '../../src/sources/graphQuery.js';
import type { GraphClient } from '../../src/microsoft/graph.js';

const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
// Text splunkd can carry in XML: no forbidden characters.
const xmlSafe = fc.string({ unit: 'binary', maxLength: 200 }).map((v) => v.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/g, ''));

test('configuration XML: any parameter value arrives verbatim (whitespace-trimmed)', () => {
  fc.assert(
    // XML itself normalises CR in text and tab/newline in attributes; splunkd's values obey that too.
    fc.property(xmlSafe.map((v) => v.replace(/\r/g, '')), xmlSafe.map((v) => v.replace(/[\t\r\n]/g, '')), (filter, name) => {
      const xml = `<input><server_uri>http://127.0.0.1:1</server_uri><session_key>k</session_key><checkpoint_dir>/c</checkpoint_dir><configuration><stanza name="defender_xdr_alerts://${esc(name)}"><param name="filter">${esc(filter)}</param></stanza></configuration></input>`;
      const config = parseInputConfig(xml);
      assert.equal(config.params.filter ?? '', filter.trim());
      assert.equal(config.stanza, `defender_xdr_alerts://${name}`);
    }),
    { numRuns: 300 },
  );
});

test('configuration XML: garbage is a clear Error, never a crash of another kind', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseInputConfig(text);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.length > 0);
      }
    }),
  );
});

test('events: any JSON document, any Unicode, any stanza: the stream stays well-formed and the JSON intact', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), fc.string({ unit: 'binary', maxLength: 50 }), async (doc, stanza) => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const writer = new EventWriter(out, `defender_xdr_alerts://${stanza}`);
      const data = JSON.stringify(doc);
      await writer.writeEvents([{ timeMs: 1, data, sourcetype: 'ms:defender:alert', host: stanza }]);
      await writer.close();
      const xml = Buffer.concat(chunks).toString('utf8');
      assert.equal(XMLValidator.validate(xml), true);
      const parsed = new XMLParser({ parseTagValue: false, trimValues: false }).parse(xml) as { stream: { event: { data: string } } };
      // JSON.stringify escapes controls and lone surrogates; only U+FFFE/U+FFFF can be dropped.
      assert.deepEqual(JSON.parse(parsed.stream.event.data), JSON.parse(data.replace(/[\uFFFE\uFFFF]/g, '')));
    }),
    { numRuns: 200 },
  );
});

test('API answers of the wrong shape fail the poll with a clear message', async () => {
  const answers: unknown[] = ['<html><body>Proxy error</body></html>', null, 42, { value: 'nope' }, { error: 'x' }, []];
  for (const answer of answers) {
    const graph = { url: () => 'https://graph.example/x', getBytes: async () => Buffer.from(JSON.stringify(answer)) } as unknown as GraphClient;
    const query = graphWindowQuery(graph, { path: '/v1.0/security/alerts_v2', pageSize: 10 });
    await assert.rejects(query('a', 'b'), /answered without a "value" array/, JSON.stringify(answer));
  }
  for (const identityOnly of [false, true]) {
    const graph = { url: () => 'https://graph.example/x', getBytes: async () => Buffer.from('<html><body>Proxy error</body></html>') } as unknown as GraphClient;
    const query = graphWindowQuery(graph, { path: '/v1.0/security/alerts_v2', pageSize: 10, identityOnly });
    await assert.rejects(query('a', 'b'), /not valid JSON/);
  }
});

test('nesting deeper than JSON.stringify can write still yields an event (identity + marker), not a stuck input', async () => {
  const { itemJson } = await import('../../src/sources/serialize.js');
  const lines: string[] = [];
  const { createLogger } = await import('../../src/splunk/log.js');
  const deep = JSON.parse(`{"id":"a1","lastUpdateDateTime":"2024-01-01T00:00:00Z","x":${'['.repeat(20000)}${']'.repeat(20000)}}`);
  const event = JSON.parse(String(itemJson(deep, createLogger({ write: (l) => lines.push(l) }))));
  assert.equal(event.id, 'a1');
  assert.match(event.taError, /not serialisable/);
  assert.match(lines[0], /^WARN Item cannot be serialised whole/);
});

test('a 50 MB string and invalid UTF-8 pass through the stream safely', async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const writer = new EventWriter(out, 's://x');
  const big = 'A<&>'.repeat(12_500_000);
  // What undici's text() makes of invalid UTF-8 bytes: replacement characters.
  const fromBadBytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d]).toString('utf8');
  await writer.writeEvents([
    { timeMs: 1, data: JSON.stringify({ big }), sourcetype: 'st' },
    { timeMs: 2, data: fromBadBytes, sourcetype: 'st' },
  ]);
  await writer.close();
  const xml = Buffer.concat(chunks).toString('utf8');
  assert.ok(xml.length > 50_000_000);
  assert.equal(XMLValidator.validate(xml.slice(xml.lastIndexOf('<event '), -'</stream>'.length)), true);
  assert.ok(xml.includes('A&lt;&amp;&gt;A'));
  assert.ok(xml.includes('\uFFFD'));
});
