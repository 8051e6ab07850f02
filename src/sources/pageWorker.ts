import { parentPort } from 'node:worker_threads';
import { identityAt, InvalidJsonError, layoutOf, PARSE_BATCH, type PageLayout, type ParseReply, type ParseJob } from './pageIdentities.js';

/**
 * The page worker (bin/lib/pageWorker.js): parses list pages off the input's main thread, which
 * meanwhile receives the next page and writes events (see pageParser.ts). Pages are answered in
 * the order they came; each page's head (layout and last element) is sent as soon as it arrives,
 * ahead of the elements of pages before it, since the next request waits on it.
 */

interface Pending {
  job: number;
  bytes: Buffer;
  layout: PageLayout;
  timeProperty: string;
  identities: unknown[];
}

const port = parentPort;
if (!port) throw new Error('pageWorker.js runs as a worker thread only');

const queue: Pending[] = [];
let scheduled = false;

const reply = (message: ParseReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: ParseJob) => {
  const { job, buffer, length, timeProperty } = message;
  const bytes = Buffer.from(buffer, 0, length);
  try {
    const layout = layoutOf(bytes);
    if (!layout) return reply({ job, kind: 'whole', buffer }, [buffer]);
    const n = layout.starts.length;
    const last = n ? identityAt(bytes, layout, n - 1, timeProperty) : undefined;
    reply({ job, kind: 'head', skeleton: layout.skeleton, starts: layout.starts, ends: layout.ends, last });
    queue.push({ job, bytes, layout, timeProperty, identities: [] });
    schedule();
  } catch (error) {
    if (!(error instanceof InvalidJsonError)) throw error;
    reply({ job, kind: 'invalid', buffer }, [buffer]);
  }
});

warmUp();
reply({ kind: 'ready' });

/**
 * Scans and parses a made-up page a few times before the first real one (while the input gets its
 * token): the scan is one long loop per page, which V8 otherwise runs unoptimised for most of the
 * first pages (measured: 24 ms per 1000-alert page cold, 8.6 ms warm).
 */
function warmUp(): void {
  const element = { id: 'x', lastUpdateDateTime: '2024-01-01T00:00:00.0000000Z', n: 1.5, ok: true, none: null, text: 'a "quoted" \\ \u00e9 東京', list: [{ k: 'v' }, [1, 2]] };
  const bytes = Buffer.from(JSON.stringify({ '@odata.count': 200, value: Array.from({ length: 200 }, () => element), '@odata.nextLink': 'https://x/y' }));
  for (let round = 0; round < 20; round++) {
    const layout = layoutOf(bytes)!;
    for (let i = 0; i < layout.starts.length; i++) identityAt(bytes, layout, i, 'lastUpdateDateTime');
  }
}

function schedule(): void {
  if (scheduled || !queue.length) return;
  scheduled = true;
  setImmediate(parseBatch);
}

/** One batch of the oldest page's elements; the page is answered once all are parsed. */
function parseBatch(): void {
  scheduled = false;
  const page = queue[0];
  const buffer = page.bytes.buffer as ArrayBuffer;
  try {
    const n = page.layout.starts.length;
    const end = Math.min(n, page.identities.length + PARSE_BATCH);
    for (let i = page.identities.length; i < end; i++) page.identities.push(identityAt(page.bytes, page.layout, i, page.timeProperty));
    if (page.identities.length === n) {
      queue.shift();
      reply({ job: page.job, kind: 'items', buffer, identities: page.identities }, [buffer]);
    }
  } catch (error) {
    if (!(error instanceof InvalidJsonError)) throw error;
    queue.shift();
    reply({ job: page.job, kind: 'invalid', buffer }, [buffer]);
  }
  schedule();
}
