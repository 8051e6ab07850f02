import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spaces requests evenly: at most `perMinute` starts in any minute, one every 60000/perMinute ms.
 * Even spacing (rather than bursts) keeps a big result set from tripping Graph's throttling for
 * the inputs that share the same app registration.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private nextAtMs = -Infinity;
  /** Total time spent waiting, for the run summary. */
  waitedMs = 0;

  constructor(
    perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<unknown> = (ms) => sleep(ms),
  ) {
    this.intervalMs = 60_000 / perMinute;
  }

  /** Resolves when the next request may start. Callers take turns (one request at a time). */
  async take(): Promise<void> {
    const now = this.now();
    const delay = this.nextAtMs - now;
    if (delay > 0) {
      this.waitedMs += delay;
      await this.wait(delay);
    }
    this.nextAtMs = Math.max(now, this.nextAtMs) + this.intervalMs;
  }

  /** After a 429: no request before `ms` from now. */
  pause(ms: number): void {
    this.nextAtMs = Math.max(this.nextAtMs, this.now() + ms);
  }
}
