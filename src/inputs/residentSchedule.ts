import { Cron } from 'croner';

/**
 * When a stanza polls next in the resident collector, from splunkd's `interval`: seconds counted
 * from the end of the previous poll (as splunkd counts them), `-1` once at start-up only, or a
 * cron schedule (which, as in splunkd, does not poll at start-up). Undefined: never again.
 */
export function nextPollAt(interval: string | undefined, lastEndMs: number | undefined): number | undefined {
  const value = (interval ?? '').trim() || '60';
  if (value === '-1') return lastEndMs === undefined ? Date.now() : undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return lastEndMs === undefined ? Date.now() : lastEndMs + seconds * 1000;
  try {
    return new Cron(value).nextRun(new Date(lastEndMs ?? Date.now()))?.getTime();
  } catch {
    // --validate-arguments refuses such a schedule; one set by hand in inputs.conf polls as the default.
    return lastEndMs === undefined ? Date.now() : lastEndMs + 60_000;
  }
}

/**
 * Shares the process's CPU among the polls running at once: each poll is charged an equal part of
 * what the process used while it ran, so that the polls' `cpu_ms` add up to the process's.
 */
export class CpuShare {
  private readonly charged = new Map<number, number>();
  private last = cpuMs();
  private nextId = 0;

  enter(): number {
    this.settle();
    const id = this.nextId++;
    this.charged.set(id, 0);
    return id;
  }

  /** The poll's share so far, and it stops being charged. */
  leave(id: number): number {
    this.settle();
    const total = this.charged.get(id) ?? 0;
    this.charged.delete(id);
    return Math.round(total);
  }

  private settle(): void {
    const now = cpuMs();
    if (this.charged.size) {
      const share = (now - this.last) / this.charged.size;
      for (const [id, total] of this.charged) this.charged.set(id, total + share);
    }
    this.last = now;
  }
}

export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
