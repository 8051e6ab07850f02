import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateBudgetExhaustedError, RateLimiter, rateLimitDelayMs, sharedRateLimiter, type Clock } from '../../src/http/rateLimiter.js';

/** A clock that only moves when someone sleeps on it; records every wait. */
class FakeClock implements Clock {
  t = 1_000_000;
  sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

const MDE = [
  { limit: 100, windowMs: 60_000 },
  { limit: 1500, windowMs: 3_600_000 },
];

test('the pure decision waits until the call `limit` places back leaves its window', () => {
  const limits = [{ limit: 3, windowMs: 1000 }];
  assert.equal(rateLimitDelayMs([], limits, 0), 0);
  assert.equal(rateLimitDelayMs([0, 100], limits, 200), 0);
  assert.equal(rateLimitDelayMs([0, 100, 200], limits, 300), 700);
  assert.equal(rateLimitDelayMs([0, 100, 200], limits, 1000), 0);
  // The strictest of several limits decides.
  assert.equal(rateLimitDelayMs([0, 100, 200], [...limits, { limit: 2, windowMs: 5000 }], 300), 4800);
});

test('100 calls a minute: the 101st waits exactly until the first has left the minute', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(MDE, clock);
  const start = clock.t;
  for (let i = 0; i < 100; i++) assert.equal(await limiter.acquire(), 0);
  assert.equal(clock.t, start, 'no wait within the budget');
  assert.equal(await limiter.acquire(), 60_000);
  assert.deepEqual(clock.sleeps, [60_000]);
});

test('1,500 calls an hour: a steady caller is held to the hourly budget', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter(MDE, clock);
  const start = clock.t;
  for (let i = 0; i < 1500; i++) await limiter.acquire();
  // 15 minute-bursts of 100: 14 one-minute waits.
  assert.equal(clock.t - start, 14 * 60_000);
  const waited = await limiter.acquire();
  assert.equal(clock.t - start, 3_600_000, 'call 1501 starts an hour after call 1');
  assert.equal(waited, 3_600_000 - 14 * 60_000);
  // Within any sliding hour, never more than 1500 calls; within any minute never more than 100.
  assert.ok(clock.sleeps.every((ms) => ms > 0));
});

test('concurrent callers are served in arrival order and share one budget', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter([{ limit: 2, windowMs: 1000 }], clock);
  const order: number[] = [];
  const start = clock.t;
  await Promise.all([0, 1, 2, 3, 4].map((n) => limiter.acquire().then(() => order.push(n))));
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(clock.t - start, 2000, 'five calls at two a second end two seconds in');
});

test('one limiter per account key in a process', () => {
  const a = sharedRateLimiter('tenant-a|client|https://api.securitycenter.microsoft.com', MDE);
  const again = sharedRateLimiter('tenant-a|client|https://api.securitycenter.microsoft.com', MDE);
  const other = sharedRateLimiter('tenant-b|client|https://api.securitycenter.microsoft.com', MDE);
  assert.equal(a, again);
  assert.notEqual(a, other);
});

test('two processes sharing a ledger file draw from one budget; an unusable ledger falls back to counting alone', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { FileCallLedger } = await import('../../src/http/callLedger.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'ledger-'));
  const file = path.join(dir, 'sub', 'calls.log');
  const clock = new FakeClock();
  const errors: string[] = [];
  // Two limiters stand for two input processes of the same app: each has its own memory.
  const a = new RateLimiter([{ limit: 4, windowMs: 60_000 }], clock, new FileCallLedger(file, (e) => errors.push(e.message)));
  const b = new RateLimiter([{ limit: 4, windowMs: 60_000 }], clock, new FileCallLedger(file, (e) => errors.push(e.message)));
  const start = clock.t;
  for (const limiter of [a, b, a, b]) assert.equal(await limiter.acquire(), 0);
  assert.equal(await b.acquire(), 60_000, 'the fifth call of the app waits, whichever process makes it');
  assert.equal(clock.t - start, 60_000);
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 5);
  assert.equal(errors.length, 0);

  // A ledger that cannot be read (here a folder where the file should be; root ignores permissions).
  const alone = new RateLimiter([{ limit: 2, windowMs: 60_000 }], clock, new FileCallLedger(dir, (e) => errors.push(e.message)));
  assert.equal(await alone.acquire(), 0);
  assert.equal(await alone.acquire(), 0);
  assert.equal(await alone.acquire(), 60_000, 'still limited, in memory');
  assert.equal(errors.length, 1, 'reported once');
});

test('the ledger file is compacted to the calls still inside the longest window', async () => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { FileCallLedger } = await import('../../src/http/callLedger.js');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ledger-')), 'calls.log');
  writeFileSync(file, Array.from({ length: 4100 }, (_, i) => `${i}\n`).join(''));
  const ledger = new FileCallLedger(file, (e) => assert.fail(e.message));
  assert.deepEqual(ledger.recent(4095), [4096, 4097, 4098, 4099]);
  assert.equal(readFileSync(file, 'utf8'), '4096\n4097\n4098\n4099\n');
});

test('a caller with a deadline is told when the budget has no room before it, without waiting or taking a slot', async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter([{ limit: 2, windowMs: 60_000 }], clock);
  await limiter.acquire(clock.t + 1000);
  await limiter.acquire(clock.t + 1000);
  const start = clock.t;
  await assert.rejects(limiter.acquire(start + 59_000), (e: unknown) => e instanceof RateBudgetExhaustedError && e.untilMs === start + 60_000);
  assert.deepEqual(clock.sleeps, [], 'no wait');
  // A later deadline waits as usual, and the refused caller took no slot.
  assert.equal(await limiter.acquire(start + 60_000), 60_000);
});
