/**
 * The V8 code cache of the collector bundle (src/inputs/codeCache.ts), in child processes as an
 * input runs it: written on the first run, taken on the next, another file for a changed bundle,
 * never used without SPLUNK_HOME, and a damaged cache costs a compile, not the run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeCacheDir } from '../../src/inputs/codeCache.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = mkdtempSync(path.join(tmpdir(), 'code-cache-'));
const bundle = path.join(work, 'bundle.cjs');
const home = path.join(work, 'splunk');

/** Loads the bundle through requireCached in a fresh process; prints the cache outcome and the bundle's answer. */
function load(env: Record<string, string> = { SPLUNK_HOME: home }): { cache: string; answer: string } {
  const script = `
    const { requireCached, codeCacheDir } = require(${JSON.stringify(path.join(ROOT, 'src/inputs/codeCache.ts'))});
    const loaded = requireCached(${JSON.stringify(bundle)}, codeCacheDir(process.env));
    process.stdout.write(JSON.stringify({ cache: loaded.cache, answer: loaded.exports.answer() }));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' }));
}

const cacheFiles = () => readdirSync(codeCacheDir({ SPLUNK_HOME: home })!).filter((f) => f.endsWith('.v8cache'));

test('the cache lives under $SPLUNK_HOME/var/run, and nowhere without SPLUNK_HOME', () => {
  assert.equal(codeCacheDir({ SPLUNK_HOME: '/opt/splunk' }), path.join('/opt/splunk', 'var', 'run', 'TA-defender-xdr', 'code-cache'));
  assert.equal(codeCacheDir({}), undefined);
  writeFileSync(bundle, `exports.answer = () => 'one ' + __filename.length;`);
  assert.deepEqual(load({}), { cache: 'off', answer: `one ${bundle.length}` });
});

test('written by the first run, taken by the next; a changed bundle gets a cache of its own', () => {
  writeFileSync(bundle, `function helper(n) { return n * 2; }\nexports.answer = () => 'first ' + helper(21);`);
  assert.deepEqual(load(), { cache: 'miss', answer: 'first 42' });
  const [written] = cacheFiles();
  assert.ok(written, 'a cache file was written');
  assert.equal(statSync(path.join(codeCacheDir({ SPLUNK_HOME: home })!, written)).mode & 0o777, 0o600);
  assert.deepEqual(load(), { cache: 'hit', answer: 'first 42' });
  // Same length, other code: V8 alone would take the old cache (it checks the source's length).
  writeFileSync(bundle, `function helper(n) { return n * 3; }\nexports.answer = () => 'other ' + helper(21);`);
  assert.deepEqual(load(), { cache: 'miss', answer: 'other 63' });
  assert.deepEqual(load(), { cache: 'hit', answer: 'other 63' });
});

test('a damaged cache is refused by V8 and rewritten; the bundle still runs', () => {
  rmSync(codeCacheDir({ SPLUNK_HOME: home })!, { recursive: true });
  writeFileSync(bundle, `exports.answer = () => 'damaged ' + [1, 2, 3].length;`);
  assert.equal(load().cache, 'miss');
  const file = path.join(codeCacheDir({ SPLUNK_HOME: home })!, cacheFiles()[0]);
  writeFileSync(file, Buffer.from('not a V8 code cache at all'));
  assert.deepEqual(load(), { cache: 'rejected', answer: 'damaged 3' });
  assert.deepEqual(load(), { cache: 'hit', answer: 'damaged 3' });
});
