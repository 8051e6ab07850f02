/**
 * The streaming benchmark's bounded form for CI (issue 23): both Streaming API inputs run through
 * their launchers (bin/<scheme>.sh) against Azurite and the Event Hubs stand-in, beside the limit
 * with I/O, at one small size. Asserted: every record arrived through each input and through the
 * limit (the section throws otherwise) and each input got its verdict lines. Speed and memory are
 * `npm run bench`'s business, not a test's: the verdicts are printed, not asserted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { APP_DIR } from '../../tools/harness.js';

test('streaming benchmark, bounded: blob and Event Hubs through their launchers, every record read, beside the limit with I/O', async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', 'defender_xdr_streaming_blob.js')), 'run npm run build first (npm test does)');
  // Read by the section when it loads.
  process.env.BENCH_STREAMING_SIZES = '2000';
  process.env.BENCH_STREAMING_PLAIN_NODE = '0';
  delete process.env.BENCH_STREAMING_INPUTS;
  const { streamingBench } = await import('../../tools/benchStreaming.js');
  const verdicts = await streamingBench();
  for (const [line, pass] of verdicts) console.log(`# ${pass ? 'PASS' : 'FAIL (not asserted)'} ${line}`);
  for (const input of ['blob', 'eventhub']) {
    assert.equal(verdicts.filter(([line]) => line.startsWith(`streaming ${input} 2,000: `)).length, 2, `${input}: a CPU and an RSS verdict`);
  }
});
