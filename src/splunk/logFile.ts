import { closeSync, fchmodSync, fstatSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The add-on's own log, beside splunkd.log: Splunk's default `[monitor://$SPLUNK_HOME/var/log/splunk]` indexes it into _internal. */
export const ADDON_LOG_NAME = 'ta_defender_xdr.log';

export interface LogFileOptions {
  /** Rotate once the file reaches this size (bytes). */
  maxBytes?: number;
  /** Rotated files kept: <name>.1 (newest) … <name>.<backups>. */
  backups?: number;
  /** A rotation lock older than this belongs to a process that died while rotating. */
  staleLockMs?: number;
  /** Injected in tests to stamp lines. */
  now?: () => Date;
}

/** Splunk's own logs rotate at 25 MB and keep 5 backups (log.cfg); the same here. */
const DEFAULTS = { maxBytes: 25 * 1024 * 1024, backups: 5, staleLockMs: 10_000 };

/**
 * An append-only log file shared by every input process of the add-on.
 * - Each line is one write() on a file opened with O_APPEND, so lines of concurrent processes
 *   never overwrite or split each other.
 * - Rotation happens under a lock file (`<name>.lock`, created with O_EXCL) and only if the file
 *   this process writes to is still the one at the path and still over the limit: a process that
 *   finds another already rotated just reopens the new file. Lines a slow process appends to the
 *   renamed file stay there, and Splunk reads them in the rotated file.
 * - Owner-only permissions (0600): the lines name tenants, accounts and hosts.
 * - A log that cannot be written never stops an input: problems go to `onProblem` (stderr) once.
 */
export class LogFile {
  private fd: number | undefined;
  private readonly maxBytes: number;
  private readonly backups: number;
  private readonly staleLockMs: number;
  private readonly now: () => Date;
  private reported = false;

  constructor(
    readonly file: string,
    options: LogFileOptions = {},
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
    this.backups = Math.max(1, options.backups ?? DEFAULTS.backups);
    this.staleLockMs = options.staleLockMs ?? DEFAULTS.staleLockMs;
    this.now = options.now ?? (() => new Date());
  }

  /** Appends one line (a newline is added), stamped with the time Splunk reads as the event's _time. */
  write(line: string): void {
    try {
      const fd = this.open();
      writeSync(fd, `${logTimestamp(this.now())} ${line.replace(/[\r\n]+/g, ' ')}\n`);
      if (fstatSync(fd).size >= this.maxBytes) this.rotate(fd);
    } catch (error) {
      this.report(error);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = openSync(this.file, 'a', 0o600);
    try {
      // A file created earlier with looser permissions (another tool, an older version) is tightened.
      fchmodSync(fd, 0o600);
    } catch {
      // not the owner (or Windows): leave it
    }
    this.fd = fd;
    return fd;
  }

  private rotate(fd: number): void {
    const lock = `${this.file}.lock`;
    if (!this.takeLock(lock)) return; // another process is rotating; this one reopens next time
    try {
      const mine = fstatSync(fd);
      let current;
      try {
        current = statSync(this.file);
      } catch {
        current = undefined;
      }
      // Rotate only the file this process writes to, and only once: if it is no longer at the path,
      // someone else rotated it already.
      if (current && current.ino === mine.ino && current.dev === mine.dev && current.size >= this.maxBytes) {
        rmSync(`${this.file}.${this.backups}`, { force: true });
        for (let n = this.backups - 1; n >= 1; n--) renameIfExists(`${this.file}.${n}`, `${this.file}.${n + 1}`);
        renameSync(this.file, `${this.file}.1`);
      }
    } finally {
      rmSync(lock, { force: true });
      this.close();
    }
  }

  private takeLock(lock: string): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        closeSync(openSync(lock, 'wx', 0o600));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      try {
        if (Date.now() - statSync(lock).mtimeMs < this.staleLockMs) return false;
        rmSync(lock, { force: true }); // left by a process killed while rotating
      } catch {
        // the lock vanished meanwhile: try again
      }
    }
    return false;
  }

  private report(error: unknown): void {
    this.close();
    if (this.reported) return;
    this.reported = true;
    this.onProblem(`WARN Cannot write the add-on log file ${this.file}: ${(error as Error).message}. Lines still go to splunkd.log.`);
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** `2026-05-01 12:00:00.123 +0000`: UTC, millisecond precision (props.conf TIME_FORMAT). */
export function logTimestamp(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} +0000`;
}

/**
 * The add-on log of this Splunk installation, or undefined when SPLUNK_HOME is not set (run by
 * hand) or its log folder does not exist (no Splunk there: nothing to index the file).
 */
export function openAddonLog(env: NodeJS.ProcessEnv, onProblem: (message: string) => void, options: LogFileOptions = {}): LogFile | undefined {
  const home = env.SPLUNK_HOME?.trim();
  if (!home) return undefined;
  const dir = path.join(home, 'var', 'log', 'splunk');
  try {
    if (!statSync(dir).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return new LogFile(path.join(dir, ADDON_LOG_NAME), options, onProblem);
}
