import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CheckpointStore, checkpointFileName } from '../../src/splunk/checkpoint.js';
import { createLogger } from '../../src/splunk/log.js';
import { isWindowCheckpoint, type WindowCheckpoint } from '../../src/sources/window.js';

const sample: WindowCheckpoint = { version: 1, highWaterMark: '2024-05-01T00:00:00.0000000Z', emitted: ['2024-05-01T00:00:00.0000000Z|a'] };

test('save then load round-trips, leaves no temp file, and is private to the owner', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
  const store = new CheckpointStore<WindowCheckpoint>(dir, 'defender_xdr_alerts://prod', createLogger({ write: () => {} }));
  assert.deepEqual(await store.load(isWindowCheckpoint), { corrupt: false });
  await store.save(sample);
  assert.deepEqual((await store.load(isWindowCheckpoint)).state, sample);
  assert.deepEqual(readdirSync(dir), [path.basename(store.file)]);
  if (process.platform !== 'win32') assert.equal((await import('node:fs')).statSync(store.file).mode & 0o777, 0o600);
});

test('a corrupt checkpoint is moved aside with an ERROR line, never silently reset', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
  const lines: string[] = [];
  const store = new CheckpointStore<WindowCheckpoint>(dir, 'defender_xdr_alerts://prod', createLogger({ write: (l) => lines.push(l) }));
  for (const garbage of ['{"version":1,"highWater', '{"version":2}', '{"version":1,"highWaterMark":"yesterday","emitted":[]}']) {
    writeFileSync(store.file, garbage);
    const loaded = await store.load(isWindowCheckpoint);
    assert.deepEqual(loaded, { corrupt: true });
    const aside = readdirSync(dir).filter((f) => f.includes('.corrupt-'));
    assert.ok(aside.length >= 1);
    assert.ok(aside.some((f) => readFileSync(path.join(dir, f), 'utf8') === garbage), 'the corrupt content is kept for inspection');
  }
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^ERROR Checkpoint is corrupt/);
});

test('checkpoint file names are safe and distinct for similar stanzas', () => {
  const a = checkpointFileName('defender_xdr_alerts://a/b');
  const b = checkpointFileName('defender_xdr_alerts://a_b');
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_.-]+$/);
});

test("a killed run's temp file is removed at the next save; a living process's and another stanza's are kept", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cp-'));
  const store = new CheckpointStore<WindowCheckpoint>(dir, 'defender_xdr_alerts://prod', createLogger({ write: () => {} }));
  const { spawnSync } = await import('node:child_process');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const base = path.basename(store.file);
  const other = checkpointFileName('defender_xdr_alerts://other');
  for (const name of [`${base}.tmp-${deadPid}`, `${base}.tmp-${process.ppid}`, `${other}.tmp-${deadPid}`]) writeFileSync(path.join(dir, name), '{"half');
  await store.save(sample);
  assert.deepEqual(readdirSync(dir).sort(), [base, `${base}.tmp-${process.ppid}`, `${other}.tmp-${deadPid}`].sort());
});
