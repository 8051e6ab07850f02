/**
 * The scale run of the benchmark (tools/scale.ts), bounded for CI: several tenants and stanzas
 * (alerts and incidents) polled on splunkd's schedule while new documents trickle in, each stanza
 * its own process as splunkd starts them, then the same with the resident collector (one
 * single-instance process per scheme, stopped with SIGTERM). Asserted: no poll failed and every
 * stanza emitted every document exactly once (and, resident, each stanza polled on its interval and
 * the processes' clean exit). Its speed is the benchmark's business (npm run bench), not a test's.
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

test('resident: the same 6 stanzas in one process per scheme for 20 s: each polled on its interval, every document exactly once, exit 0 on SIGTERM', async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', 'defender_xdr_alerts.js')), 'run npm run build first (npm test does)');
  const figures = await runAtScale({ tenants: 3, stanzas: 6, intervalMs: 4000, minutes: 1 / 3, trickleMs: 1000, mode: 'resident' });
  const r = figures.resident!;
  const logged = r.problems.join('\n');
  // Both still running when asked to stop (a process that polled once and left is not resident).
  for (const exit of r.exits) assert.equal(exit.early, false, `${exit.scheme} exited (${exit.code}) before SIGTERM\n${logged}`);
  assert.equal(figures.failedPolls, 0, logged);
  assert.ok(figures.documents >= 10, `${figures.documents} documents trickled in`);
  // 20 s at 4 s from each poll's end, plus the poll after the trickle stopped: 3 at the very least.
  assert.ok(figures.minPollsPerStanza >= 3, `a stanza polled ${figures.minPollsPerStanza} times (${figures.polls} polls in all)\n${logged}`);
  assert.equal(r.notPolledAfterTrickle, 0, 'every stanza polled again after the trickle stopped');
  assert.equal(r.unknownStanzaEvents, 0);
  assert.equal(figures.notExactlyOnce, 0, `a stanza missed a document or emitted one twice: ${figures.notExactlyOnceDetail.join('; ')}`);
  // Two processes (alerts, incidents), both clean.
  assert.equal(r.exits.length, 2);
  for (const exit of r.exits) {
    assert.equal(exit.code, 0, `${exit.scheme} exit code on SIGTERM\n${logged}`);
    assert.ok(exit.streamClosed, `${exit.scheme} wrote </stream>`);
  }
});
