import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import type { GraphClient } from '../../src/microsoft/graph.js';
import { graphWindowQuery } from '../../src/sources/graphQuery.js';
import { arrayElementTexts, rawJsonOf, rememberRawJson } from '../../src/sources/rawJson.js';
import { itemJson } from '../../src/sources/serialize.js';
import { createLogger } from '../../src/splunk/log.js';

const silent = createLogger({ write: () => undefined });

test('element texts parse back to exactly the parsed elements, whatever the JSON', () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { maxLength: 8 }),
      fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }),
      fc.constantFrom(undefined, 0, 2, '\t'),
      (value, others, indent) => {
        // "value" placed among other keys (which may themselves hold a "value" array deeper down).
        const document = { ...others, value, [`x${Object.keys(others).length}`]: { value: [1, 2] } };
        const text = JSON.stringify(document, null, indent);
        const texts = arrayElementTexts(text, 'value');
        assert.ok(texts, text);
        assert.equal(texts.length, value.length);
        texts.forEach((t, i) => assert.deepEqual(JSON.parse(t), JSON.parse(JSON.stringify(value[i]))));
      },
    ),
    { numRuns: 400 },
  );
});

test('strings with escaped quotes, brackets and commas do not cut elements', () => {
  const value = [{ a: 'x\\"],[{' }, { b: '\\', c: ['"', ','] }, 'q\\\\"', []];
  const texts = arrayElementTexts(JSON.stringify({ value }), 'value');
  assert.deepEqual(texts?.map((t) => JSON.parse(t)), value);
});

test('no top-level array under the key: undefined, never a wrong split', () => {
  assert.equal(arrayElementTexts('{"other":[1,2]}', 'value'), undefined);
  assert.equal(arrayElementTexts('{"value":"[1,2]"}', 'value'), undefined);
  assert.equal(arrayElementTexts('[{"value":[1]}]', 'value'), undefined);
  assert.deepEqual(arrayElementTexts('{"value":[]}', 'value'), []);
  // A repeated key: JSON.parse keeps the last one, and so does the scan.
  assert.deepEqual(arrayElementTexts('{"value":[1],"value":[2,3]}', 'value'), ['2', '3']);
});

test('items read from a page are emitted as the server wrote them, copies are re-serialised', async () => {
  const text = '{"@odata.count":2,"value":[ {"id":"a","lastUpdateDateTime":"2024-01-01T00:00:00Z","n":1.50} ,{"id":"b","lastUpdateDateTime":"2024-01-01T00:00:00Z"}]}';
  const graph = { url: () => 'https://graph.example/x', getText: async () => text } as unknown as GraphClient;
  const page = await graphWindowQuery<{ id: string; lastUpdateDateTime: string }>(graph, { path: '/x', pageSize: 10 })('a', 'b');
  assert.equal(itemJson(page.items[0], silent), '{"id":"a","lastUpdateDateTime":"2024-01-01T00:00:00Z","n":1.50}');
  const copy = { ...page.items[0], alerts: [] };
  assert.equal(rawJsonOf(copy), undefined);
  assert.deepEqual(JSON.parse(itemJson(copy, silent)), { id: 'a', lastUpdateDateTime: '2024-01-01T00:00:00Z', n: 1.5, alerts: [] });
});

test('nesting too deep for JSON.stringify is still emitted whole when it came from a page', () => {
  const inner = `{"id":"a1","lastUpdateDateTime":"2024-01-01T00:00:00Z","x":${'['.repeat(20000)}${']'.repeat(20000)}}`;
  const text = `{"value":[${inner}]}`;
  const body = JSON.parse(text) as { value: { id: string; lastUpdateDateTime: string }[] };
  rememberRawJson(body.value, arrayElementTexts(text, 'value'));
  assert.equal(itemJson(body.value[0], silent), inner);
});

test('texts that do not line up with the parsed items are not used', () => {
  const items = [{ id: 'a' }, { id: 'b' }];
  rememberRawJson(items, ['{"id":"a"}']);
  assert.equal(rawJsonOf(items[0]), undefined);
});

test('identity-only pages: same count, link and identities as a full parse, raw JSON kept, bad elements fail', async () => {
  const value = [
    { id: 'a', lastUpdateDateTime: '2024-01-01T00:00:00Z', evidence: [{ id: 'nested', value: [1] }] },
    { id: 'b', lastUpdateDateTime: '2024-01-02T00:00:00Z', title: 'x, "y" ] }' },
  ];
  const text = JSON.stringify({ '@odata.count': 7, value, '@odata.nextLink': 'https://graph.example/x?$skip=2' }, null, 1);
  const graph = { url: () => 'https://graph.example/x', getText: async () => text } as unknown as GraphClient;
  const page = await graphWindowQuery<{ id: string; lastUpdateDateTime: string }>(graph, { path: '/x', pageSize: 2, identityOnly: true })('a', 'b');
  assert.equal(page.count, 7);
  assert.ok(page.next);
  assert.deepEqual(page.items, value.map(({ id, lastUpdateDateTime }) => ({ id, lastUpdateDateTime })));
  page.items.forEach((item, i) => assert.deepEqual(JSON.parse(itemJson(item, silent)), value[i]));

  const broken = text.replace('"title": "x', '"title": x');
  const bad = { url: () => 'https://graph.example/x', getText: async () => broken } as unknown as GraphClient;
  await assert.rejects(graphWindowQuery(bad, { path: '/x', pageSize: 2, identityOnly: true })('a', 'b'), /not valid JSON/);
});
