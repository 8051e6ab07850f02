import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { GraphClient } from '../../src/microsoft/graph.js';
import { graphWindowQuery } from '../../src/sources/graphQuery.js';
import { rawJsonOf, rememberRawJson, scanArray } from '../../src/sources/rawJson.js';
import { itemJson } from '../../src/sources/serialize.js';
import { createLogger } from '../../src/splunk/log.js';

const silent = createLogger({ write: () => undefined });
const elementsOf = (text: string, key = 'value') => scanArray(Buffer.from(text, 'utf8'), key)?.elements.map((e) => e.toString('utf8'));
const graphAnswering = (text: string) => ({ url: () => 'https://graph.example/x', getBytes: async () => Buffer.from(text, 'utf8') }) as unknown as GraphClient;

test('element bytes parse back to exactly the parsed elements, whatever the JSON (any Unicode)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue({ stringUnit: 'binary' }), { maxLength: 8 }),
      fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue(), { maxKeys: 4 }),
      fc.constantFrom(undefined, 0, 2, '\t'),
      (value, others, indent) => {
        // "value" placed among other keys (which may themselves hold a "value" array deeper down).
        const document = { ...others, value, [`x${Object.keys(others).length}`]: { value: [1, 2] } };
        const text = JSON.stringify(document, null, indent);
        const texts = elementsOf(text);
        assert.ok(texts, text);
        assert.equal(texts.length, value.length);
        texts.forEach((t, i) => assert.deepEqual(JSON.parse(t), JSON.parse(JSON.stringify(value[i]))));
        const span = scanArray(Buffer.from(text, 'utf8'), 'value')!;
        const bytes = Buffer.from(text, 'utf8');
        assert.deepEqual(JSON.parse(bytes.toString('utf8', span.start, span.end)), JSON.parse(JSON.stringify(value)));
      },
    ),
    { numRuns: 400 },
  );
});

test('strings with escaped quotes, brackets and commas do not cut elements', () => {
  const value = [{ a: 'x\\"],[{' }, { b: '\\', c: ['"', ','] }, 'q\\\\"', [], { 'ключ': '東京 "}' }];
  assert.deepEqual(elementsOf(JSON.stringify({ value }))?.map((t) => JSON.parse(t)), value);
});

test('no top-level array under the key: undefined, never a wrong split', () => {
  assert.equal(elementsOf('{"other":[1,2]}'), undefined);
  assert.equal(elementsOf('{"value":"[1,2]"}'), undefined);
  assert.equal(elementsOf('[{"value":[1]}]'), undefined);
  assert.equal(elementsOf('{"valuex":[1]}'), undefined);
  assert.deepEqual(elementsOf('{"value":[]}'), []);
  // A repeated key: JSON.parse keeps the last one, and so does the scan.
  assert.deepEqual(elementsOf('{"value":[1],"value":[2,3]}'), ['2', '3']);
});

test('items read from a page are emitted as the server wrote them, copies are re-serialised', async () => {
  const text = '{"@odata.count":2,"value":[ {"id":"a","lastUpdateDateTime":"2024-01-01T00:00:00Z","n":1.50} ,{"id":"b","lastUpdateDateTime":"2024-01-01T00:00:00Z"}]}';
  const page = await graphWindowQuery<{ id: string; lastUpdateDateTime: string }>(graphAnswering(text), { path: '/x', pageSize: 10 })('a', 'b');
  const [first] = await page.read!();
  assert.equal(String(itemJson(first, silent)), '{"id":"a","lastUpdateDateTime":"2024-01-01T00:00:00Z","n":1.50}');
  const copy = { ...first, alerts: [] };
  assert.equal(rawJsonOf(copy), undefined);
  assert.deepEqual(JSON.parse(String(itemJson(copy, silent))), { id: 'a', lastUpdateDateTime: '2024-01-01T00:00:00Z', n: 1.5, alerts: [] });
});

test('nesting too deep for JSON.stringify is still emitted whole when it came from a page', () => {
  const inner = `{"id":"a1","lastUpdateDateTime":"2024-01-01T00:00:00Z","x":${'['.repeat(20000)}${']'.repeat(20000)}}`;
  const bytes = Buffer.from(`{"value":[${inner}]}`);
  const body = JSON.parse(bytes.toString()) as { value: { id: string; lastUpdateDateTime: string }[] };
  rememberRawJson(body.value, scanArray(bytes, 'value')?.elements);
  assert.equal(String(itemJson(body.value[0], silent)), inner);
});

test('elements that do not line up with the parsed items are not used', () => {
  const items = [{ id: 'a' }, { id: 'b' }];
  rememberRawJson(items, [Buffer.from('{"id":"a"}')]);
  assert.equal(rawJsonOf(items[0]), undefined);
});

test('identity-only pages: same count, link and identities as a full parse, raw JSON kept, bad elements fail', async () => {
  const value = [
    { id: 'a', lastUpdateDateTime: '2024-01-01T00:00:00Z', evidence: [{ id: 'nested', value: [1] }] },
    { id: 'b', lastUpdateDateTime: '2024-01-02T00:00:00Z', title: 'x, "y" ] } 東京' },
  ];
  const text = JSON.stringify({ '@odata.count': 7, value, '@odata.nextLink': 'https://graph.example/x?$skip=2' }, null, 1);
  const page = await graphWindowQuery<{ id: string; lastUpdateDateTime: string }>(graphAnswering(text), { path: '/x', pageSize: 2, identityOnly: true })('a', 'b');
  assert.equal(page.count, 7);
  assert.ok(page.next);
  const items = await page.read!();
  assert.deepEqual(items, value.map(({ id, lastUpdateDateTime }) => ({ id, lastUpdateDateTime })));
  items.forEach((item, i) => assert.deepEqual(JSON.parse(String(itemJson(item, silent))), value[i]));

  // The skeleton and the last element are read with the response, the other elements when the
  // pager reads the items; either way a bad one fails as a bad body does.
  const query = (body: string) => graphWindowQuery(graphAnswering(body), { path: '/x', pageSize: 2, identityOnly: true })('a', 'b');
  const bad = await query(text.replace('"id": "nested"', '"id": nested'));
  await assert.rejects(bad.read!(), /not valid JSON/);
  await assert.rejects(query(text.replace('"title": "x', '"title": x')), /not valid JSON/);
});
