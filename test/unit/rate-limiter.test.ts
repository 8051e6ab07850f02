import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter, rateLimitDelayMs, sharedRateLimiter, type Clock } from '../../src/http/rateLimiter.js';

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
