import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';

// node:worker_threads is loaded when a worker is started, not with this module: the entry and the
// collector import it, and a quiet poll, which starts none, paid ~7 ms of CPU to load it.
const load = createRequire(import.meta.url);

/**
 * Starts the page worker (bin/lib/pageWorker.js, see pageParser.ts), or undefined when it cannot
 * be started (no such file, e.g. run from source; or a thread refused). Shared by the input's
 * entry, which starts it before loading the collector, and by the collector, which starts it
 * itself when the entry did not.
 */
export function spawnPageWorker(file: string): Worker | undefined {
  if (!existsSync(file)) return undefined;
  try {
    // Its garbage (a page's parse, ~30 MB) dies young: a capped young generation holds RSS
    // (measured at 100k alerts: peak 205 MB uncapped, 170-183 MB at 12 MB, same throughput).
    const { Worker: WorkerThread } = load('node:worker_threads') as typeof import('node:worker_threads');
    return new WorkerThread(file, { resourceLimits: { maxYoungGenerationSizeMb: 12 } });
  } catch {
    return undefined;
  }
}
