import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'node:test';
import fc from 'fast-check';
import { InvalidJsonError } from '../../src/sources/pageIdentities.js';
import { parseInThread, WorkerPageParser, type PageParser, type ParsedPage } from '../../src/sources/pageParser.js';
import { APP_DIR } from '../../tools/harness.js';

// The worker as the app ships it (npm test builds first): from source Node cannot load a .ts worker.
const BUILT_WORKER = path.join(APP_DIR, 'bin', 'lib', 'pageWorker.js');

/** What a parser made of a body, in plain values (element bytes as text). */
async function outcome(parser: PageParser, text: string): Promise<unknown> {
  let parsed: ParsedPage;
  try {
    parsed = await parser(Buffer.from(text, 'utf8'), 'lastUpdateDateTime');
  } catch (error) {
    return { headFailed: error instanceof InvalidJsonError };
  }
  if (parsed.kind === 'whole') return { whole: parsed.bytes.toString('utf8') };
  const head = { skeleton: parsed.skeleton, size: parsed.size, last: parsed.last };
  try {
    const { elements, identities } = await parsed.items();
    return { ...head, elements: elements.map((e) => e.toString('utf8')), identities };
  } catch (error) {
    return { ...head, itemsFailed: error instanceof InvalidJsonError };
  }
}

/** The same reduction done by JSON.parse of the whole body. */
function expected(value: unknown[]): unknown[] {
  return value.map((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
    const { id, lastUpdateDateTime } = item as Record<string, unknown>;
    return { id, lastUpdateDateTime };
  });
}

const item = fc.record({ id: fc.string({ unit: 'binary' }), lastUpdateDateTime: fc.oneof(fc.string(), fc.constant(null)), more: fc.jsonValue({ stringUnit: 'binary' }) }, { requiredKeys: [] });

test('the worker and this thread read any page the same, and as JSON.parse does', async () => {
  assert.ok(existsSync(BUILT_WORKER), `${BUILT_WORKER} is missing: run npm run build`);
  const worker = new WorkerPageParser(BUILT_WORKER);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(item, fc.jsonValue()), { maxLength: 12 }), fc.constantFrom(undefined, 1), async (value, indent) => {
      const text = JSON.stringify({ '@odata.count': value.length, value, '@odata.nextLink': 'https://graph.example/x?$skip=1' }, null, indent);
      const inThread = await outcome(parseInThread, text);
      assert.deepEqual(await outcome(worker.parse, text), inThread);
      const whole = JSON.parse(text) as { value: unknown[] };
      const { elements, ...rest } = inThread as { elements: string[] };
      assert.deepEqual(rest, { skeleton: { ...whole, value: [] }, size: value.length, last: expected(whole.value).at(-1), identities: expected(whole.value) });
      assert.deepEqual(elements.map((e) => JSON.parse(e)), whole.value);
    }),
    { numRuns: 150 },
  );
});

test('pages in flight together are answered each with its own items, in order', async () => {
  const worker = new WorkerPageParser(BUILT_WORKER);
  const pages = Array.from({ length: 6 }, (_, p) => ({ value: Array.from({ length: 250 }, (_, i) => ({ id: `p${p}-${i}`, lastUpdateDateTime: `t${i}`, pad: 'x'.repeat(i) })) }));
  const heads = await Promise.all(pages.map((page) => worker.parse(Buffer.from(JSON.stringify(page)), 'lastUpdateDateTime')));
  for (const [p, head] of heads.entries()) {
    assert.equal(head.kind, 'head');
    if (head.kind !== 'head') continue;
    assert.deepEqual(head.last, { id: `p${p}-249`, lastUpdateDateTime: 't249' });
    const { elements, identities } = await head.items();
    assert.deepEqual(identities, pages[p].value.map(({ id, lastUpdateDateTime }) => ({ id, lastUpdateDateTime })));
    assert.deepEqual(elements.map((e) => JSON.parse(e.toString())), pages[p].value);
  }
});

test('bad JSON fails where the in-thread parse fails: the body or its last element at once, another element when read', async () => {
  const worker = new WorkerPageParser(BUILT_WORKER);
  const good = JSON.stringify({ '@odata.count': 3, value: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
  const cases = {
    body: good.replace('"@odata.count":3', '"@odata.count":3x'),
    last: good.replace('{"id":"c"}', '{"id":c}'),
    middle: good.replace('{"id":"b"}', '{"id":b}'),
  };
  for (const parser of [parseInThread, worker.parse]) {
    assert.deepEqual(await outcome(parser, cases.body), { headFailed: true });
    assert.deepEqual(await outcome(parser, cases.last), { headFailed: true });
    assert.deepEqual(await outcome(parser, cases.middle), {
      skeleton: { '@odata.count': 3, value: [] }, size: 3, last: { id: 'c', lastUpdateDateTime: undefined }, itemsFailed: true,
    });
    // Without a top-level value array the body comes back whole, byte for byte.
    assert.deepEqual(await outcome(parser, '{"error":{"code":"x"}}'), { whole: '{"error":{"code":"x"}}' });
  }
});

test('a worker that cannot start leaves every page to this thread, including those given while it was starting', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'page-worker-'));
  const broken = path.join(dir, 'pageWorker.js');
  writeFileSync(broken, 'throw new Error("cannot load");');
  for (const file of [broken, path.join(dir, 'missing.js')]) {
    const parser = new WorkerPageParser(file);
    const body = JSON.stringify({ value: [{ id: 'a', lastUpdateDateTime: 't' }] });
    const [first, second] = await Promise.all([outcome(parser.parse, body), outcome(parser.parse, body)]);
    assert.deepEqual(first, await outcome(parseInThread, body));
    assert.deepEqual(second, first);
    assert.deepEqual(await outcome(parser.parse, body), first);
  }
});

test('a worker that dies fails the pages it held (never an empty page), and later pages are read in this thread', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'page-worker-'));
  const dying = path.join(dir, 'pageWorker.js');
  writeFileSync(dying, 'const { parentPort } = require("node:worker_threads"); parentPort.postMessage({ kind: "ready" }); parentPort.on("message", () => process.exit(3));');
  const parser = new WorkerPageParser(dying);
  const body = JSON.stringify({ value: [{ id: 'a', lastUpdateDateTime: 't' }] });
  await assert.rejects(parser.parse(Buffer.from(body), 'lastUpdateDateTime'), /page parser thread failed: it exited \(code 3\)/);
  assert.deepEqual(await outcome(parser.parse, body), await outcome(parseInThread, body));
});

test('identities read from Latin-1 are the same as from UTF-8: non-ASCII ids and times, raw or escaped, are read again', async () => {
  const worker = new WorkerPageParser(BUILT_WORKER);
  const value = [
    { id: 'ascii', lastUpdateDateTime: '2026-01-01T00:00:00Z', title: 'Pass-the-ticket • 東京 é' },
    { id: 'caf\u00e9', lastUpdateDateTime: '2026-01-01T00:00:01Z' },
    { id: '東京-1', lastUpdateDateTime: '2026-01-01T00:00:0\u0662Z' },
    { id: { nested: 'é' }, lastUpdateDateTime: ['é'] },
    { id: 7, lastUpdateDateTime: null, more: '😀' },
    'é string element',
  ];
  // Raw UTF-8, and the same document with every non-ASCII character as a \u escape.
  const raw = JSON.stringify({ value });
  const escaped = raw.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  for (const text of [raw, escaped]) {
    for (const parser of [parseInThread, worker.parse]) {
      const read = (await outcome(parser, text)) as { identities: unknown[] };
      assert.deepEqual(read.identities, expected(value), text === raw ? 'raw' : 'escaped');
    }
  }
});
