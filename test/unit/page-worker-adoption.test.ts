import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { adoptPageWorker, parsePage } from '../../src/sources/pageParser.js';
import type { ParseReply } from '../../src/sources/pageIdentities.js';
import { spawnPageWorker } from '../../src/sources/pageWorkerThread.js';
import { APP_DIR } from '../../tools/harness.js';

// Its own file: the process's page parser is a module singleton, which adoption must find unset.
const BUILT_WORKER = path.join(APP_DIR, 'bin', 'lib', 'pageWorker.js');

test("the input's pages go to the worker its entry started, not to a second one", async () => {
  const worker = spawnPageWorker(BUILT_WORKER);
  assert.ok(worker, `${BUILT_WORKER} is missing: run npm run build`);
  const replies: ParseReply['kind'][] = [];
  worker.on('message', (reply: ParseReply) => replies.push(reply.kind));
  adoptPageWorker(worker);
  const body = JSON.stringify({ '@odata.count': 2, value: [{ id: 'a', lastUpdateDateTime: '2026-01-01T00:00:00Z', x: 1 }, { id: 'b', lastUpdateDateTime: '2026-01-02T00:00:00Z' }] });
  const page = await parsePage(Buffer.from(body), 'lastUpdateDateTime');
  assert.equal(page.kind, 'head');
  assert.deepEqual(page.last, { id: 'b', lastUpdateDateTime: '2026-01-02T00:00:00Z' });
  const { identities } = await page.items();
  assert.deepEqual(identities, [{ id: 'a', lastUpdateDateTime: '2026-01-01T00:00:00Z' }, { id: 'b', lastUpdateDateTime: '2026-01-02T00:00:00Z' }]);
  // The adopted worker said it was ready, then answered this page's head and items.
  assert.deepEqual(replies, ['ready', 'head', 'items']);
  await worker.terminate();
});

test('a worker file that does not exist is no worker, not an error', () => {
  assert.equal(spawnPageWorker(path.join(APP_DIR, 'bin', 'lib', 'no-such-worker.js')), undefined);
});
