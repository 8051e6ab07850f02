/**
 * Which Chromium the browser tests use (test/helpers/chromium.ts): CHROMIUM_PATH, then Debian's,
 * then the one inside @sparticuz/chromium. The unpacking itself is test/integration/packaged-chromium.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chooseChromium } from '../helpers/chromium.js';

const dir = mkdtempSync(path.join(tmpdir(), 'chromium-choice-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, '');
  return p;
};
const debian = file('debian-chromium');
const custom = file('custom-chromium');
const missing = path.join(dir, 'not-installed');
let unpacked = 0;
const unpackPackaged = async () => {
  unpacked += 1;
  return '/cache/sparticuz-chromium/chromium';
};

test('CHROMIUM_PATH wins over an installed Debian Chromium, and nothing is unpacked', async () => {
  unpacked = 0;
  const chosen = await chooseChromium({ env: { CHROMIUM_PATH: custom }, debianPath: debian, unpackPackaged });
  assert.deepEqual(chosen, { executablePath: custom, origin: 'CHROMIUM_PATH' });
  assert.equal(unpacked, 0);
});

test('a CHROMIUM_PATH that does not exist is an error naming it, not a silent fallback', async () => {
  await assert.rejects(chooseChromium({ env: { CHROMIUM_PATH: missing }, debianPath: debian, unpackPackaged }), (error: Error) => {
    assert.match(error.message, new RegExp(`CHROMIUM_PATH=${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`));
    return true;
  });
});

test('without CHROMIUM_PATH, Debian\'s Chromium is preferred when installed', async () => {
  unpacked = 0;
  for (const env of [{}, { CHROMIUM_PATH: '' }]) {
    assert.deepEqual(await chooseChromium({ env, debianPath: debian, unpackPackaged }), { executablePath: debian, origin: 'Debian' });
  }
  assert.equal(unpacked, 0);
});

test('with neither, the Chromium of @sparticuz/chromium is unpacked and used', async () => {
  unpacked = 0;
  const chosen = await chooseChromium({ env: {}, debianPath: missing, unpackPackaged });
  assert.equal(chosen.executablePath, '/cache/sparticuz-chromium/chromium');
  assert.match(chosen.origin, /^@sparticuz\/chromium \d+\.\d+\.\d+$/);
  assert.equal(unpacked, 1);
});
