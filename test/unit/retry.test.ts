import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETRY, retryDelayMs, serverRequestedWaitMs } from '../../src/http/retry.js';

const policy = { ...DEFAULT_RETRY, maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 8000 };

test('Retry-After in seconds, as an HTTP date, and in the body', () => {
  const now = Date.parse('2024-05-01T00:00:00Z');
  assert.equal(serverRequestedWaitMs({ kind: 'response', status: 429, retryAfter: '7' }, now), 7000);
  assert.equal(serverRequestedWaitMs({ kind: 'response', status: 503, retryAfter: 'Wed, 01 May 2024 00:00:30 GMT' }, now), 30_000);
  assert.equal(serverRequestedWaitMs({ kind: 'response', status: 429, bodyText: '{"error":{"message":"Rate limit. Try again in 12 seconds."}}' }, now), 12_000);
  assert.equal(serverRequestedWaitMs({ kind: 'response', status: 429 }, now), undefined);
});

test('429 waits exactly what the server asked, capped', () => {
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '3' }, policy), 3000);
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '100000' }, policy), policy.maxRetryAfterMs);
});

test('exponential back-off with equal jitter, bounded', () => {
  const outcome = { kind: 'response', status: 500 } as const;
  assert.equal(retryDelayMs(1, outcome, policy, () => 0), 500);
  assert.equal(retryDelayMs(1, outcome, policy, () => 1), 1000);
  assert.equal(retryDelayMs(3, outcome, policy, () => 0), 2000);
  assert.equal(retryDelayMs(4, outcome, policy, () => 1), 8000);
  // capped at maxDelayMs however many attempts
  assert.equal(retryDelayMs(4, outcome, { ...policy, maxAttempts: 20 }, () => 1), 8000);
  assert.equal(retryDelayMs(10, outcome, { ...policy, maxAttempts: 20 }, () => 1), 8000);
});

test('network failures retry, client errors and exhausted attempts give up', () => {
  assert.ok(retryDelayMs(1, { kind: 'network', code: 'ECONNRESET' }, policy, () => 0)! > 0);
  for (const code of ['CONNECT_TIMEOUT', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT', 'ETRUNCATED', 'EPROXY', 'ETIMEDOUT']) {
    assert.ok(retryDelayMs(1, { kind: 'network', code }, policy, () => 0)! > 0, code);
  }
  for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ENOTFOUND', 'EPROXY_AUTH', 'ERR_INVALID_URL', 'ERR_INVALID_CHAR']) {
    assert.equal(retryDelayMs(1, { kind: 'network', code }, policy), undefined, code);
  }
  for (const status of [400, 401, 403, 404]) assert.equal(retryDelayMs(1, { kind: 'response', status }, policy), undefined);
  assert.equal(retryDelayMs(5, { kind: 'response', status: 503 }, policy), undefined);
  assert.equal(retryDelayMs(5, { kind: 'response', status: 429, retryAfter: '1' }, policy), undefined);
});

test('a status can have its own, smaller attempt budget', () => {
  const p = { ...policy, maxAttemptsByStatus: { 500: 2 } };
  assert.ok(retryDelayMs(1, { kind: 'response', status: 500 }, p, () => 0)! > 0);
  assert.equal(retryDelayMs(2, { kind: 'response', status: 500 }, p), undefined);
  assert.ok(retryDelayMs(3, { kind: 'response', status: 503 }, p, () => 0)! > 0);
  assert.equal(retryDelayMs(3, { kind: 'response', status: 429, retryAfter: '2' }, p), 2000);
});

test('a bounded caller gives up on a Retry-After beyond its cap, and on a wait that would end past its deadline', () => {
  const now = Date.parse('2024-05-01T00:00:00Z');
  const bounded = { ...policy, maxRetryAfterMs: 60_000, giveUpBeyondMaxRetryAfter: true };
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '600' }, bounded, Math.random, now), undefined, 'never retried before the server said');
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '60' }, bounded, Math.random, now), 60_000, 'at the cap: waited');
  const deadline = { ...policy, deadlineMs: now + 5000 };
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '5' }, deadline, Math.random, now), 5000);
  assert.equal(retryDelayMs(1, { kind: 'response', status: 429, retryAfter: '6' }, deadline, Math.random, now), undefined);
  assert.equal(retryDelayMs(4, { kind: 'response', status: 500 }, deadline, () => 1, now), undefined, 'back-off past the deadline too');
});
