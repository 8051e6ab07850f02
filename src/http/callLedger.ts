import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The start times of recent calls against one budget, kept where several processes can see them.
 * splunkd starts one process per input and poll, so an in-memory history alone forgets the calls of
 * the previous poll and of the other inputs on the same app.
 */
export interface CallLedger {
  /** Calls since `sinceMs`, oldest first; undefined when the ledger cannot be read (the caller then counts alone). */
  recent(sinceMs: number): number[] | undefined;
  record(atMs: number): void;
}

/** Rewritten to its live lines once it holds this many. */
const COMPACT_AT = 4000;

/**
 * A ledger in a file of epoch-ms lines beside the checkpoints (splunkd's checkpoint_dir is shared by
 * every input of a scheme). Appends of one short line are atomic; a line appended while another
 * process compacts may be lost, which undercounts by that call: the server's 429 stays the backstop.
 * Failures never fail a poll: they are reported once and the limiter counts in memory.
 */
export class FileCallLedger implements CallLedger {
  private broken = false;

  constructor(
    readonly file: string,
    private readonly onError: (error: Error) => void,
  ) {}

  recent(sinceMs: number): number[] | undefined {
    if (this.broken) return undefined;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      return this.fail(error);
    }
    const lines = text.split('\n');
    const live = lines.map(Number).filter((t) => Number.isFinite(t) && t > sinceMs).sort((a, b) => a - b);
    if (lines.length > COMPACT_AT) this.compact(live);
    return live;
  }

  record(atMs: number): void {
    if (this.broken) return;
    try {
      try {
        appendFileSync(this.file, `${atMs}\n`, { mode: 0o600 });
      } catch (error) {
        // splunkd creates checkpoint_dir lazily; so does the checkpoint store.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        mkdirSync(path.dirname(this.file), { recursive: true });
        appendFileSync(this.file, `${atMs}\n`, { mode: 0o600 });
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private compact(live: number[]): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, live.map((t) => `${t}\n`).join(''), { mode: 0o600 });
      renameSync(temp, this.file);
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): undefined {
    this.broken = true;
    this.onError(error as Error);
    return undefined;
  }
}
