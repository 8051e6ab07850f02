import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADDON_LOG_NAME, LogFile, logTimestamp, openAddonLog } from '../../src/splunk/logFile.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'ta-logfile-'));
const mode = (file: string) => statSync(file).mode & 0o777;
const LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} \+0000 [A-Z]+ .*$/;

test('lines are stamped in UTC with milliseconds, one per physical line, in an owner-only file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.log');
  const log = new LogFile(file, { now: () => new Date('2026-05-01T12:00:00.007Z') });
  log.write('INFO Poll finished emitted=3');
  log.write('WARN two\nlines');
  log.close();
  assert.equal(readFileSync(file, 'utf8'), '2026-05-01 12:00:00.007 +0000 INFO Poll finished emitted=3\n2026-05-01 12:00:00.007 +0000 WARN two lines\n');
  if (process.platform !== 'win32') assert.equal(mode(file), 0o600);
  assert.equal(logTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 60))), '2026-01-02 03:04:05.060 +0000');
});

test('an existing file with looser permissions is tightened to 0600', { skip: process.platform === 'win32' }, () => {
  const file = path.join(tempDir(), 'b.log');
  writeFileSync(file, 'old\n', { mode: 0o644 });
  chmodSync(file, 0o644);
  const log = new LogFile(file);
  log.write('INFO x');
  log.close();
  assert.equal(mode(file), 0o600);
  assert.match(readFileSync(file, 'utf8'), /^old\n.* INFO x\n$/);
});

test('rotates by size, keeps the configured number of backups, drops the oldest', () => {
  const dir = tempDir();
  const file = path.join(dir, 'r.log');
  const log = new LogFile(file, { maxBytes: 200, backups: 2 });
  for (let i = 0; i < 40; i++) log.write(`INFO line seq=${String(i).padStart(3, '0')} ${'y'.repeat(40)}`);
  log.close();
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['r.log', 'r.log.1', 'r.log.2'], 'no lock left behind, only two backups');
  for (const f of files) {
    assert.ok(statSync(path.join(dir, f)).size < 200 + 100, `${f} stays near the limit`);
    if (process.platform !== 'win32') assert.equal(mode(path.join(dir, f)), 0o600, f);
  }
  // Newest last: r.log.2 < r.log.1 < r.log, and the kept lines are the latest ones, contiguous.
  const seqs = ['r.log.2', 'r.log.1', 'r.log'].flatMap((f) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/seq=(\d+)/g)].map((m) => Number(m[1])));
  assert.equal(seqs.at(-1), 39);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), 'contiguous, in order');
  assert.ok(seqs[0] > 0, 'the oldest lines were rotated away');
});

test('a stale rotation lock (process killed while rotating) is taken over; a fresh one is respected', () => {
  const dir = tempDir();
  const file = path.join(dir, 's.log');
  writeFileSync(`${file}.lock`, '');
  const log = new LogFile(file, { maxBytes: 100, backups: 3, staleLockMs: 60_000 });
  log.write(`INFO ${'z'.repeat(120)}`);
  assert.equal(existsSync(`${file}.1`), false, 'another process holds a fresh lock: no rotation');
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(`${file}.lock`, old, old);
  log.write('INFO again');
  log.close();
  assert.equal(existsSync(`${file}.1`), true, 'rotated once the lock was stale');
  assert.equal(existsSync(`${file}.lock`), false);
});

test('a log that cannot be written reports once and never throws', () => {
  const problems: string[] = [];
  const log = new LogFile(path.join(tempDir(), 'missing', 'x.log'), {}, (p) => problems.push(p));
  log.write('INFO one');
  log.write('INFO two');
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^WARN Cannot write the add-on log file .*x\.log: ENOENT/);
});

test('openAddonLog uses $SPLUNK_HOME/var/log/splunk, and nothing without SPLUNK_HOME or that folder', () => {
  const home = tempDir();
  assert.equal(openAddonLog({}, () => undefined), undefined);
  assert.equal(openAddonLog({ SPLUNK_HOME: home }, () => undefined), undefined);
  mkdirSync(path.join(home, 'var', 'log', 'splunk'), { recursive: true });
  assert.equal(openAddonLog({ SPLUNK_HOME: home }, () => undefined)?.file, path.join(home, 'var', 'log', 'splunk', ADDON_LOG_NAME));
});

test('concurrent writers with rotation: every line exactly once, whole, no lock left behind', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'c.log');
  const writers = 4;
  const count = 400;
  // ~110-byte lines, 8 KB files: dozens of rotations while the four processes race; enough
  // backups that none is dropped, so every line must be found.
  const run = (id: number) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, '..', 'helpers', 'logWriter.ts'), file, String(id), String(count), '8192', '200'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 && stderr === '' ? resolve() : reject(new Error(`writer ${id}: ${code} ${stderr}`))));
    });
  await Promise.all(Array.from({ length: writers }, (_, i) => run(i)));
  const files = readdirSync(dir);
  assert.ok(!files.some((f) => f.endsWith('.lock')), 'lock released');
  // How often depends on timing: a writer that finds the lock taken keeps appending and retries
  // on its next line, so files can outgrow the limit under contention; nothing is lost either way.
  assert.ok(files.length > 3, `rotated several times (${files.length} files)`);
  const seen = new Map<string, number>();
  for (const f of files) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
    for (const line of text.slice(0, -1).split('\n')) {
      assert.match(line, LINE, `${f}: a torn or merged line: ${line.slice(0, 200)}`);
      const key = /writer=(\d+) seq=(\d+) pad=x{60}$/.exec(line);
      assert.ok(key, `${f}: ${line}`);
      seen.set(`${key[1]}/${key[2]}`, (seen.get(`${key[1]}/${key[2]}`) ?? 0) + 1);
    }
  }
  assert.equal(seen.size, writers * count, 'no line lost');
  assert.ok([...seen.values()].every((n) => n === 1), 'no line duplicated');
});

test('a writer whose file another process rotated reopens the new file instead of rotating again', () => {
  const dir = tempDir();
  const file = path.join(dir, 'i.log');
  // Two LogFile objects stand for two processes: each holds its own descriptor.
  const a = new LogFile(file, { maxBytes: 300, backups: 3 });
  const b = new LogFile(file, { maxBytes: 300, backups: 3 });
  b.write('INFO b opens the file');
  for (let i = 0; i < 6 && !existsSync(`${file}.1`); i++) a.write(`INFO a fills ${'a'.repeat(60)}`);
  assert.ok(existsSync(`${file}.1`), 'a rotated');
  a.write('INFO a starts the new file');
  b.write('INFO b after the rotation'); // lands in the rotated file b still holds, which is over the limit
  assert.equal(existsSync(`${file}.2`), false, 'b saw the rotation already done and did not rotate the new file away');
  b.write('INFO b again');
  a.close();
  b.close();
  assert.match(readFileSync(`${file}.1`, 'utf8'), /b after the rotation\n$/);
  assert.match(readFileSync(file, 'utf8'), /^.*INFO a starts the new file\n.*INFO b again\n$/);
});
