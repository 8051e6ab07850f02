import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from './log.js';

/**
 * Per-stanza JSON checkpoint in splunkd's checkpoint_dir, written atomically
 * (temp file, fsync, rename, fsync of the folder) so a kill -9 leaves either the old or the new file.
 */
export class CheckpointStore<T> {
  readonly file: string;
  private swept = false;

  constructor(dir: string, stanza: string, private readonly logger: Logger) {
    this.file = path.join(dir, checkpointFileName(stanza));
  }

  /** Returns undefined when there is no checkpoint yet, or when it was corrupt (moved aside, logged at ERROR). */
  async load(isValid: (value: unknown) => value is T): Promise<{ state?: T; corrupt: boolean }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { corrupt: false };
      throw error;
    }
    try {
      const value: unknown = JSON.parse(text);
      if (isValid(value)) return { state: value, corrupt: false };
    } catch {
      // fall through: handled as corrupt below
    }
    const aside = `${this.file}.corrupt-${Date.now()}`;
    await rename(this.file, aside);
    this.logger.error('Checkpoint is corrupt; moved aside, collection restarts from start_date (events may repeat)', {
      checkpoint: this.file,
      moved_to: aside,
    });
    return { corrupt: true };
  }

  async save(state: T): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true });
    const temp = `${this.file}.tmp-${process.pid}`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(state));
      await handle.sync();
    } catch (error) {
      // A full disk leaves a partial temp file; the old checkpoint stays whole and in place.
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true }).catch(() => undefined);
      throw new Error(`Cannot save the checkpoint ${this.file}: ${(error as Error).message}`);
    }
    await handle.close();
    await rename(temp, this.file);
    await syncDirectory(dir);
    if (!this.swept) {
      this.swept = true;
      await removeOrphanTemps(this.file);
    }
  }

  /**
   * save(), synchronously, for a signal handler after which the process exits at once: its own temp
   * file, so an async save() cut short beside it cannot mix into it.
   */
  saveSync(state: T): void {
    const dir = path.dirname(this.file);
    mkdirSync(dir, { recursive: true });
    const temp = `${this.file}.tmp-${process.pid}.sync`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeFileSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw new Error(`Cannot save the checkpoint ${this.file}: ${(error as Error).message}`);
    }
    closeSync(fd);
    renameSync(temp, this.file);
    if (process.platform !== 'win32') {
      const dirFd = openSync(dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    }
  }
}

/**
 * A run killed while writing leaves its `<file>.tmp-<pid>` (or `.tmp-<pid>.sync`); nothing else
 * would remove it, and over months they pile up in checkpoint_dir. Only files of processes that no longer exist are removed
 * (a recycled pid keeps its file: harmless). Best effort: a failure here never fails the save.
 */
async function removeOrphanTemps(file: string): Promise<void> {
  const prefix = `${path.basename(file)}.tmp-`;
  try {
    for (const name of await readdir(path.dirname(file))) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number.parseInt(name.slice(prefix.length), 10); // <pid> or <pid>.sync
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) await rm(path.join(path.dirname(file), name), { force: true });
    }
  } catch {
    // the folder cannot be listed: leave the orphans
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable. Not possible on Windows, where opening a folder fails.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A readable, file-system-safe, collision-free name for a stanza like `defender_xdr_alerts://prod tenant`. */
export function checkpointFileName(stanza: string): string {
  const readable = stanza.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(stanza).digest('hex').slice(0, 12);
  return `${readable}.${hash}.json`;
}
