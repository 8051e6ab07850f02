import assert from 'node:assert/strict';
import test from 'node:test';
import { HttpError } from '../../src/http/errors.js';
import type { GraphClient } from '../../src/microsoft/graph.js';
import { graphWindowQuery } from '../../src/sources/graphQuery.js';

interface Item {
  id: string;
  lastUpdateDateTime: string;
}

/** A GraphClient that records each URL asked for and answers from `answer`. */
function recordingGraph(answer: (url: URL) => unknown) {
  const asked: URL[] = [];
  const graph = {
    url: (path: string, query: Record<string, string>) => `https://graph.example${path}?${new URLSearchParams(query)}`,
    getBytes: async (url: string) => {
      const parsed = new URL(url);
      asked.push(parsed);
      const body = answer(parsed);
      if (body instanceof Error) throw body;
      return Buffer.from(JSON.stringify(body));
    },
  } as unknown as GraphClient;
  return { graph, asked };
}

const FROM = '2024-05-01T00:00:00.0000000Z';
const TO = '2024-05-02T00:00:00.0000000Z';
const value = Array.from({ length: 250 }, (_, i) => ({ id: `a${i}`, lastUpdateDateTime: `2024-05-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(7, '0')}Z`, title: 'x' }));

test('the ascending query asks oldest change first, "after" reads strictly after the anchor', async () => {
  const { graph, asked } = recordingGraph(() => ({ '@odata.count': 250, value, '@odata.nextLink': 'https://graph.example/x?$skip=250' }));
  const query = graphWindowQuery<Item>(graph, { path: '/security/alerts_v2', pageSize: 250, identityOnly: true, ascending: true });
  const page = await query(FROM, TO, true);
  assert.equal(asked[0]!.searchParams.get('$orderby'), 'lastUpdateDateTime asc');
  assert.equal(asked[0]!.searchParams.get('$filter'), `lastUpdateDateTime gt ${FROM} and lastUpdateDateTime lt ${TO}`);
  // The last item alone, before the page is read; then the page in batches, the same as all at once.
  assert.deepEqual(page.last?.(), { id: 'a249', lastUpdateDateTime: value[249]!.lastUpdateDateTime });
  const read = await page.read!();
  assert.deepEqual(read, value.map(({ id, lastUpdateDateTime }) => ({ id, lastUpdateDateTime })));
  assert.equal(await page.read!(), read, 'read once, kept');
  const plain = graphWindowQuery<Item>(graph, { path: '/security/alerts_v2', pageSize: 250 });
  await plain(FROM, TO);
  assert.equal(asked[1]!.searchParams.get('$orderby'), null);
  assert.equal(asked[1]!.searchParams.get('$filter'), `lastUpdateDateTime ge ${FROM} and lastUpdateDateTime lt ${TO}`);
});

test('a 400 to $orderby is answered by asking without it, and it is not asked for again', async () => {
  const { graph, asked } = recordingGraph((url) =>
    url.searchParams.has('$orderby') ? new HttpError(400, url.href, {}, '{"error":{"code":"BadRequest"}}') : { '@odata.count': 1, value: value.slice(0, 1) });
  const query = graphWindowQuery<Item>(graph, { path: '/security/alerts_v2', pageSize: 250, identityOnly: true, ascending: true });
  const first = await query(FROM, TO);
  assert.deepEqual((await first.read!()).map((i) => i.id), ['a0']);
  await query(FROM, TO);
  assert.deepEqual(asked.map((u) => u.searchParams.has('$orderby')), [true, false, false]);
});

test('other failures of the ascending query are not retried without the order', async () => {
  const { graph, asked } = recordingGraph((url) => new HttpError(403, url.href, {}, '{}'));
  const query = graphWindowQuery<Item>(graph, { path: '/security/alerts_v2', pageSize: 250, identityOnly: true, ascending: true });
  await assert.rejects(query(FROM, TO), (e: unknown) => e instanceof HttpError && e.status === 403);
  assert.equal(asked.length, 1);
});
