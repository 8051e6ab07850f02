import type { CallLedger } from './callLedger.js';

/**
 * A client-side limiter for APIs with published call budgets (Defender for Endpoint: 100 calls a
 * minute and 1,500 an hour). It spaces calls before the server has to refuse them; 429 handling in
 * the HttpClient stays as the backstop. Sliding windows over the start times of recent calls, in
 * this process, or in a ledger shared with other processes when one is given.
 */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Pure: how long to wait from `nowMs` before one more call fits every limit.
 * @param history start times of earlier calls, oldest first.
 */
export function rateLimitDelayMs(history: readonly number[], limits: readonly RateLimit[], nowMs: number): number {
  let wait = 0;
  for (const { limit, windowMs } of limits) {
    if (limit <= 0) throw new Error('A rate limit must allow at least one call.');
    // The call `limit` places back must have left the window before another may start.
    const blocking = history.length >= limit ? history[history.length - limit] : undefined;
    if (blocking !== undefined) wait = Math.max(wait, blocking + windowMs - nowMs);
  }
  return Math.max(0, wait);
}

/** The budget has no room before a caller's deadline: it reports this instead of waiting past it. */
export class RateBudgetExhaustedError extends Error {
  constructor(
    /** Epoch ms when the next call would fit. */
    readonly untilMs: number,
  ) {
    super(`The app's call budget has no room until ${new Date(untilMs).toISOString()}`);
    this.name = 'RateBudgetExhaustedError';
  }
}

export class RateLimiter {
  private readonly history: number[] = [];
  /** Callers are served in arrival order, so one input cannot starve another. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly longestWindowMs: number;

  constructor(
    readonly limits: readonly RateLimit[],
    private readonly clock: Clock = systemClock,
    private readonly ledger?: CallLedger,
  ) {
    this.longestWindowMs = Math.max(...limits.map((l) => l.windowMs));
  }

  /**
   * Waits until one more call fits every limit, records it, and resolves with the ms waited.
   * @param deadlineMs when given, a wait that would end after it rejects with RateBudgetExhaustedError at once.
   */
  acquire(deadlineMs?: number): Promise<number> {
    const turn = this.tail.then(() => this.take(deadlineMs));
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  private async take(deadlineMs?: number): Promise<number> {
    let waited = 0;
    for (;;) {
      const now = this.clock.now();
      this.forget(now);
      // The ledger holds this process's calls too; without one (or when it fails) count alone.
      const history = this.ledger?.recent(now - this.longestWindowMs) ?? this.history;
      const wait = rateLimitDelayMs(history, this.limits, now);
      if (wait === 0) {
        this.history.push(now);
        this.ledger?.record(now);
        return waited;
      }
      if (deadlineMs !== undefined && now + wait > deadlineMs) throw new RateBudgetExhaustedError(now + wait);
      await this.clock.sleep(wait);
      waited += wait;
    }
  }

  private forget(now: number): void {
    let drop = 0;
    while (drop < this.history.length && this.history[drop] <= now - this.longestWindowMs) drop++;
    if (drop) this.history.splice(0, drop);
  }
}

const shared = new Map<string, RateLimiter>();

/**
 * The one limiter of a budget key (e.g. tenant and app) in this process, so every input and client
 * using the same account draws from the same budget; the first caller's ledger (if any) is kept.
 */
export function sharedRateLimiter(key: string, limits: readonly RateLimit[], clock?: Clock, ledger?: CallLedger): RateLimiter {
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new RateLimiter(limits, clock, ledger);
    shared.set(key, limiter);
  }
  return limiter;
}
