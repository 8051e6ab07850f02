import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** Another live process is polling the same stanza; this run must not touch its checkpoint. */
export class LockHeldError extends Error {
  constructor(readonly pid: number) {
    super(`Another process (pid ${pid}) is already collecting this input; this run exits without polling.`);
    this.name = 'LockHeldError';
  }
}

export interface StanzaLock {
  release(): Promise<void>;
}

/**
 * An exclusive lock beside the checkpoint (`<checkpoint>.lock`, holding the owner's pid).
 * splunkd runs one process per stanza, but a manual run, a second forwarder on shared storage or a
 * restart that overlaps a slow poll must not interleave two writers of one checkpoint. A lock
 * whose owner is gone (kill -9, crash) is taken over.
 */
export async function acquireStanzaLock(checkpointFile: string): Promise<StanzaLock> {
  const file = `${checkpointFile}.lock`;
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && (await isOurInput(owner))) throw new LockHeldError(owner);
    await rm(file, { force: true }); // stale: its owner is gone
  }
  throw new Error(`Cannot take the lock ${file}: it keeps reappearing.`);
}

/** True when pid is alive and, where /proc tells, still a process of this add-on (pids get reused). */
async function isOurInput(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /defender_xdr|collector|node/.test(cmdline);
  } catch {
    return true; // no /proc (Windows, macOS): trust the live pid
  }
}
