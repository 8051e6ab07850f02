import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import fc from 'fast-check';
import * as xmlModule from '../../src/splunk/xml.js';
import { xmlText } from '../../src/splunk/xml.js';

const HOSTILE = [
  'cmd.exe /c "echo <script>&amp;</script>" \u0000\u0001\u001b[31m',
  ']]></data></event><event><data>injected',
  'lone surrogate \uD800 and \uDC00 kept out, emoji 😀 kept',
  "quotes ' \" and \uFFFE\uFFFF non-characters",
  'tab\tnewline\ncarriage\rreturn stay',
];

test('xmlText escapes markup and removes characters XML 1.0 forbids', () => {
  assert.equal(xmlText('a<b>&"\''), 'a&lt;b&gt;&amp;&quot;&apos;');
  assert.equal(xmlText('x\u0000\u0008\u000B\u000C\u001Fy'), 'xy');
  assert.equal(xmlText('\uD800x\uDC00'), 'x');
  assert.equal(xmlText('😀'), '😀');
  assert.equal(xmlText('\t\n\r'), '\t\n\r');
});

async function streamOf(events: { data: string; sourcetype: string; host?: string }[], stanza: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const writer = new EventWriter(out, stanza);
  await writer.writeEvents(events.map((e) => ({ ...e, timeMs: 1714556400123, index: 'main' })));
  await writer.close();
  return Buffer.concat(chunks).toString('utf8');
}

test('a stream with hostile strings in every field stays well-formed and keeps the text', async () => {
  const events = HOSTILE.map((text) => ({ data: JSON.stringify({ processCommandLine: text }), sourcetype: 'ms:defender:alert', host: text }));
  const xml = await streamOf(events, 'defender_xdr_alerts://a"<b>');
  assert.equal(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, parseTagValue: false, trimValues: false, isArray: (n) => n === 'event' }).parse(xml) as {
    stream: { event: { '@_stanza': string; time: string; data: string; host: string; index: string }[] };
  };
  const parsedEvents = parsed.stream.event;
  assert.equal(parsedEvents.length, HOSTILE.length);
  assert.equal(parsedEvents[0]['@_stanza'], 'defender_xdr_alerts://a"<b>');
  assert.equal(parsedEvents[0].time, '1714556400.123');
  assert.equal(parsedEvents[0].index, 'main');
  // JSON.stringify already escapes C0 controls and lone surrogates, so data round-trips exactly.
  HOSTILE.forEach((text, i) => assert.equal(JSON.parse(parsedEvents[i].data).processCommandLine, text.replace(/[\uFFFE\uFFFF]/g, '')));
  assert.equal(parsedEvents[1].host, ']]></data></event><event><data>injected');
});

test('an empty poll still writes a valid, closed stream', async () => {
  assert.equal(await streamOf([], 'defender_xdr_alerts://x'), '<stream></stream>');
});

test('the writer waits for a slow reader (back-pressure) and loses nothing', async () => {
  const out = new PassThrough({ highWaterMark: 1024 });
  const writer = new EventWriter(out, 's://x');
  const received: Buffer[] = [];
  let resolved = false;
  const big = Array.from({ length: 2000 }, (_, i) => ({ timeMs: i, data: 'x'.repeat(1000) + i, sourcetype: 'st' }));
  const done = writer.writeEvents(big).then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(resolved, false, 'must not resolve while nobody reads the pipe');
  out.on('data', (c: Buffer) => received.push(c));
  await done;
  await writer.close();
  await new Promise((r) => setImmediate(r));
  const text = Buffer.concat(received).toString('utf8');
  assert.equal(text.match(/<event /g)?.length, 2000);
  assert.ok(text.endsWith('</stream>'));
});

test('element content escapes only what XML requires, and agrees with the full escape after parsing', async () => {
  const { xmlContent } = await import('../../src/splunk/xml.js');
  assert.equal(xmlContent('{"a":"b"}'), '{"a":"b"}');
  assert.equal(xmlContent('a<b>&c]]>'), 'a&lt;b&gt;&amp;c]]&gt;');
  assert.equal(xmlContent('x\u0000y\uFFFEz'), 'xyz');
  assert.equal(xmlContent('pair 😀 kept, lone \uD800 dropped'), 'pair 😀 kept, lone  dropped');
  for (const s of HOSTILE) assert.equal(XMLValidator.validate(`<d>${xmlContent(s)}</d>`), true, s);
});

test('a closed pipe rejects the batch instead of crashing the process', async () => {
  const { Writable } = await import('node:stream');
  const broken = new Writable({ write: (_chunk, _enc, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
  const writer = new EventWriter(broken, 's://x');
  await assert.rejects(writer.writeEvents([{ timeMs: 1, data: '{}', sourcetype: 'st' }, { timeMs: 2, data: '{}', sourcetype: 'st' }]), /EPIPE/);
});

test('bytes are written as they are only when the escaped text would be the same bytes', () => {
  const { xmlContentBytes } = xmlModule;
  const special = fc.constantFrom(0x26, 0x3c, 0x3e, 0x00, 0x0b, 0x1f, 0x09, 0x0a, 0x0d, 0xef, 0xbf, 0xbe, 0xed, 0xa0, 0x80, 0xe6, 0x9d, 0xb1);
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), special, fc.integer({ min: 0x20, max: 0x7e })), { maxLength: 64 }), (values) => {
      const bytes = Buffer.from(values);
      const out = xmlContentBytes(bytes);
      assert.equal(typeof out === 'string' ? out : out.toString('utf8'), xmlModule.xmlContent(bytes.toString('utf8')));
      if (typeof out !== 'string' && out.equals(bytes)) assert.equal(out, bytes); // unchanged: the same view, not a copy
    }),
    { numRuns: 2000 },
  );
  assert.equal(typeof xmlContentBytes(Buffer.from('{"a":"東京 ok"}')), 'object');
  assert.equal(xmlContentBytes(Buffer.from('{"a":"x\uFFFEy&"}')), '{"a":"xy&amp;"}');
  assert.equal(String(xmlContentBytes(Buffer.from('{"c":"a & b <c> 東京 &&"}'))), '{"c":"a &amp; b &lt;c&gt; 東京 &amp;&amp;"}');
  // Many matches in a large value stay linear (one scan per character kind).
  const big = Buffer.from('&'.repeat(2_000_000) + '<');
  assert.equal(String(xmlContentBytes(big)).length, 2_000_000 * 5 + 4);
});

test('JSON text that JSON.parse accepted skips the control-character scan and still comes out as the escaped text', () => {
  const { xmlContentBytes } = xmlModule;
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom('', '\uFFFE', '\uFFFF', '&<>', '\u0001\u001f', '\uD800'), (value, extra) => {
      // JSON.stringify escapes control characters and lone surrogates, as any JSON a server sends must.
      const text = JSON.stringify({ value, extra });
      JSON.parse(text);
      const bytes = Buffer.from(text, 'utf8');
      const out = xmlContentBytes(bytes, true);
      assert.equal(typeof out === 'string' ? out : out.toString('utf8'), xmlModule.xmlContent(text));
    }),
    { numRuns: 1000 },
  );
  // U+FFFF is legal in JSON strings but not in XML: still removed when the bytes are parsed JSON.
  assert.equal(xmlContentBytes(Buffer.from('{"a":"x\uFFFFy"}'), true), '{"a":"xy"}');
});

test('events given as bytes come out as the same XML as the same text', async () => {
  const datas = ['{"a":"東京 😀"}', '{"cmd":"a & b <c>"}', '{"x":"\uFFFF"}', ...HOSTILE.map((h) => JSON.stringify({ h }))];
  const render = async (asBytes: boolean) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const writer = new EventWriter(out, 's://x');
    await writer.writeEvents(datas.map((d, i) => ({ timeMs: i, data: asBytes ? Buffer.from(d, 'utf8') : d, sourcetype: 'st' })));
    await writer.close();
    await new Promise((r) => setImmediate(r));
    return Buffer.concat(chunks).toString('utf8');
  };
  const fromBytes = await render(true);
  assert.equal(fromBytes, await render(false));
  assert.equal(XMLValidator.validate(fromBytes), true);
});
