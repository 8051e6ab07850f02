import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { acquireStanzaLock, LockHeldError } from '../../src/splunk/stanzaLock.js';

const checkpoint = () => path.join(mkdtempSync(path.join(tmpdir(), 'lock-')), 'defender_xdr_alerts_prod.json');

test('the lock holds our pid, is owner-only, and is removed on release', async () => {
  const file = checkpoint();
  const lock = await acquireStanzaLock(file);
  assert.equal(readFileSync(`${file}.lock`, 'utf8').trim(), String(process.pid));
  await lock.release();
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a live owner makes the second run back off; a dead owner\'s lock is taken over', async () => {
  const file = checkpoint();
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    writeFileSync(`${file}.lock`, `${owner.pid}\n`);
    await assert.rejects(acquireStanzaLock(file), (e: unknown) => e instanceof LockHeldError && e.pid === owner.pid);
  } finally {
    owner.kill('SIGKILL');
    await new Promise((r) => owner.on('close', r));
  }
  const lock = await acquireStanzaLock(file);
  assert.equal(readFileSync(`${file}.lock`, 'utf8').trim(), String(process.pid));
  await lock.release();
});
