/**
 * Pure retry decisions: given what a request attempt produced, wait how long, or give up.
 * Kept free of I/O so the exact waits are unit-tested.
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** First back-off step; doubles each attempt. */
  baseDelayMs: number;
  /** Cap of one exponential back-off wait. */
  maxDelayMs: number;
  /** Cap of a server-requested wait (Retry-After); beyond it we still wait only this long. */
  maxRetryAfterMs: number;
  /** Fewer attempts for some statuses, e.g. a 500 that a fallback handles better than waiting. */
  maxAttemptsByStatus?: Record<number, number>;
  /**
   * A server-requested wait longer than maxRetryAfterMs: give up at once (the caller reports it)
   * instead of retrying before the server said to. For callers with a bounded run (alert actions).
   */
  giveUpBeyondMaxRetryAfter?: boolean;
  /** Epoch ms: no wait that would end after it; give up instead (splunkd ends an alert action at its maxtime). */
  deadlineMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000, maxRetryAfterMs: 300_000 };

export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfter?: string; bodyText?: string }
  | { kind: 'network'; code?: string };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Milliseconds a server asked us to wait: Retry-After (seconds or HTTP date), or Graph's "Try again in N seconds" body. */
export function serverRequestedWaitMs(outcome: AttemptOutcome, nowMs: number): number | undefined {
  if (outcome.kind !== 'response') return undefined;
  const header = outcome.retryAfter?.trim();
  if (header) {
    if (/^\d+(\.\d+)?$/.test(header)) return Math.round(Number(header) * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  const inBody = /try again in (\d+) seconds?/i.exec(outcome.bodyText ?? '');
  return inBody ? Number(inBody[1]) * 1000 : undefined;
}

/**
 * Network failures that another attempt cannot fix: an untrusted or invalid certificate, an unknown
 * host, proxy credentials refused (407), a URL or header Node refuses to send.
 */
const PERMANENT_NETWORK = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ALTNAME|ENOTFOUND|EPROXY_AUTH|ERR_INVALID_/;

export function isRetryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'network') return !PERMANENT_NETWORK.test(outcome.code ?? '');
  return RETRYABLE_STATUS.has(outcome.status);
}

/**
 * @param attempt 1-based number of the attempt that just failed.
 * @returns the wait before the next attempt, or undefined to give up.
 */
export function retryDelayMs(
  attempt: number,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): number | undefined {
  if (!isRetryable(outcome) || attempt >= policy.maxAttempts) return undefined;
  if (outcome.kind === 'response' && attempt >= (policy.maxAttemptsByStatus?.[outcome.status] ?? Infinity)) return undefined;
  const requested = serverRequestedWaitMs(outcome, nowMs);
  let wait: number;
  if (requested !== undefined) {
    if (requested > policy.maxRetryAfterMs && policy.giveUpBeyondMaxRetryAfter) return undefined;
    wait = Math.min(requested, policy.maxRetryAfterMs);
  } else {
    // Equal jitter: at least half the exponential step, so retries never collapse to zero,
    // and spread over the other half so many inputs do not retry in lock-step.
    const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
    wait = Math.round(step / 2 + random() * (step / 2));
  }
  if (policy.deadlineMs !== undefined && nowMs + wait > policy.deadlineMs) return undefined;
  return wait;
}
