/**
 * The scale run of the benchmark (tools/scale.ts), bounded for CI: several tenants and stanzas
 * (alerts and incidents) polled on splunkd's schedule while new documents trickle in, each stanza
 * its own process as splunkd starts them. Asserted: no poll failed and every stanza emitted every
 * document exactly once. Its speed is the benchmark's business (npm run bench), not a test's.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { APP_DIR } from '../../tools/harness.js';
import { runAtScale } from '../../tools/scale.js';

test('6 stanzas over 3 tenants, polled every 4 s for 20 s with documents trickling in: every document exactly once per stanza', async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', 'defender_xdr_alerts.js')), 'run npm run build first (npm test does)');
  const figures = await runAtScale({ tenants: 3, stanzas: 6, intervalMs: 4000, minutes: 1 / 3, trickleMs: 1000 });
  assert.equal(figures.failedPolls, 0);
  assert.ok(figures.documents >= 10, `${figures.documents} documents trickled in`);
  // Each stanza ran at least its scheduled rounds plus the final one.
  assert.ok(figures.polls >= 6 * 3, `${figures.polls} polls`);
  assert.equal(figures.notExactlyOnce, 0, `a stanza missed a document or emitted one twice: ${figures.notExactlyOnceDetail.join('; ')}`);
});
