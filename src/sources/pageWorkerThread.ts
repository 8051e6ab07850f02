import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

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
    return new Worker(file, { resourceLimits: { maxYoungGenerationSizeMb: 12 } });
  } catch {
    return undefined;
  }
}
