import path from 'node:path';
import { spawnPageWorker } from '../sources/pageWorkerThread.js';
import type { InputDefinition } from '../splunk/scheme.js';
import { schemeXml } from '../splunk/scheme.js';
import { codeCacheDir, requireCached } from './codeCache.js';
import { residentOnDisk } from './residentSwitch.js';
import type * as Collector from './collector.js';
import type { InputProgram, StreamingProgram } from './runInput.js';

/**
 * The entry of every input. `--scheme` is answered from the definition alone; the collection code
 * (msal, the HTTP client: bin/lib/collector.js) is loaded only for the other modes, which keeps
 * splunkd's start-up probe fast.
 */
export function start(
  definition: InputDefinition,
  pick: (collector: typeof Collector) => Omit<InputProgram, 'definition'> | Omit<StreamingProgram, 'definition'>,
  options: { pageWorker?: boolean; exitAfterRunMs?: number } = {},
): void {
  if (process.argv[2] === '--scheme') {
    process.stdout.write(schemeXml(definition, definition.resident === true && residentOnDisk(path.dirname(__dirname))) + '\n');
    return;
  }
  // A run (no argument) of an input that asks for it: the page worker starts now, on another core,
  // while this thread loads the collector and the configuration. The alerts input no longer asks:
  // most polls find nothing, and it starts its worker when a backlog is likely (windowedPoll.ts).
  const pageWorker = options.pageWorker && process.argv[2] === undefined ? spawnPageWorker(path.join(__dirname, 'lib', 'pageWorker.js')) : undefined;
  let collector: typeof Collector;
  try {
    // Loaded as CommonJS, not import(): importing a CommonJS file makes Node scan the whole bundle
    // for its named exports first (measured: ~300 ms of every start). It is compiled from V8's
    // code cache when there is one (codeCache.ts).
    collector = requireCached<typeof Collector>(path.join(__dirname, 'lib', 'collector.js'), codeCacheDir(process.env)).exports;
  } catch (error) {
    process.stderr.write(`ERROR Cannot load the input: ${(error as Error).message}\n`);
    process.exitCode = 1;
    void pageWorker?.terminate();
    return;
  }
  if (pageWorker) collector.adoptPageWorker(pageWorker);
  const run = collector.main({ definition, ...pick(collector) });
  // An SDK that leaves a timer behind (see defender_xdr_streaming_eventhub.ts) would keep the
  // process alive, and splunkd does not start the next run while this one lives. The output is
  // flushed and the exit code set when `run` settles; an unref'd timer fires only if something
  // else still holds the event loop.
  if (options.exitAfterRunMs !== undefined) {
    const grace = options.exitAfterRunMs;
    void run.then(() => setTimeout(() => process.exit(), grace).unref());
  }
}
