import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { BodyPool, bodies, POOLED_MIN_BYTES } from '../../src/http/bodyPool.js';
import { WorkerPageParser } from '../../src/sources/pageParser.js';
import { APP_DIR } from '../../tools/harness.js';

const MiB = 1024 * 1024;

test('a body given back serves the next one of its size, and the views that read it are emptied', () => {
  const pool = new BodyPool(2);
  const first = pool.take(5 * MiB + 1);
  assert.equal(first.byteLength, 6 * MiB, 'made in whole MiB');
  const view = Buffer.from(first);
  view.write('page one');
  pool.give(first);
  assert.equal(view.length, 0, 'a view kept after its body went back reads nothing');
  assert.equal(first.byteLength, 0);
  const again = pool.take(5 * MiB);
  assert.equal(again.byteLength, 6 * MiB);
  assert.equal(Buffer.from(again).toString('latin1', 0, 8), 'page one', 'the same memory, not a copy');
  assert.equal(pool.size, 0);
});

test('the smallest free buffer that fits is taken; a bigger need gets a new one; the pool keeps at most its limit', () => {
  const pool = new BodyPool(2);
  const [a, b, c] = [pool.take(2 * MiB), pool.take(4 * MiB), pool.take(8 * MiB)];
  for (const buffer of [c, a, b]) pool.give(buffer);
  assert.equal(pool.size, 2, 'the smallest went');
  assert.equal(pool.take(3 * MiB).byteLength, 4 * MiB);
  assert.equal(pool.take(9 * MiB).byteLength, 9 * MiB, 'nothing free fits: a new one');
  assert.equal(pool.size, 1);
});

test('small buffers and buffers the pool did not hand out are told apart', () => {
  const pool = new BodyPool();
  const small = new ArrayBuffer(POOLED_MIN_BYTES - 1);
  pool.give(small);
  assert.equal(pool.size, 0, 'small bodies are not kept');
  assert.equal(small.byteLength, POOLED_MIN_BYTES - 1, 'nor detached');
  assert.equal(pool.ownsWhole(new ArrayBuffer(2 * MiB)), false);
  assert.equal(pool.ownsWhole(pool.take(2 * MiB)), true);
});

test('a page parsed on the worker from a pooled body: elements as sent, and its memory back in the pool once released', async () => {
  const worker = path.join(APP_DIR, 'bin', 'lib', 'pageWorker.js');
  assert.ok(existsSync(worker), `${worker} is missing: run npm run build`);
  const parser = new WorkerPageParser(worker);
  const value = Array.from({ length: 300 }, (_, i) => ({ id: `a${i}`, lastUpdateDateTime: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, pad: 'x'.repeat(5000) }));
  const text = JSON.stringify({ '@odata.count': value.length, value });
  const memory = bodies.take(text.length);
  assert.ok(memory.byteLength > text.length, 'the body fills only the start of its buffer');
  const body = Buffer.from(memory, 0, Buffer.from(memory).write(text));
  const before = bodies.size;
  const head = await parser.parse(body, 'lastUpdateDateTime');
  assert.equal(head.kind, 'head');
  if (head.kind !== 'head') return;
  const { elements, identities } = await head.items();
  assert.deepEqual(elements.map((e) => JSON.parse(e.toString('utf8'))), value);
  assert.deepEqual(identities, value.map(({ id, lastUpdateDateTime }) => ({ id, lastUpdateDateTime })));
  head.release();
  assert.equal(bodies.size, before + 1);
  assert.ok(elements.every((e) => e.length === 0), 'no element can be read once its body is reused');
});
