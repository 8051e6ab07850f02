import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { bodies } from '../http/bodyPool.js';
import { spawnPageWorker } from './pageWorkerThread.js';
import { identityAt, InvalidJsonError, layoutOf, PARSE_BATCH, type PageLayout, type ParseReply, type ParseJob } from './pageIdentities.js';

/**
 * Reads a list page for its items' identities (see pageIdentities.ts), on a worker thread.
 *
 * JSON.parse of a 1000-alert page is ~25 ms of the input's ~65 ms of CPU per page, and the main
 * thread must also receive the next page and write this one's events. On the worker, parsing
 * overlaps both, and the main thread is free when the next page arrives, so the request after it
 * leaves at once. Without a worker (it failed to start), the same work runs in this thread.
 */

/** The elements of a page and what they parse to, in order. */
export interface PageItems {
  /** Each element's bytes: views of the body, not copies. */
  elements: Buffer[];
  identities: unknown[];
}

export type ParsedPage =
  | {
      kind: 'head';
      /** The body's other members (count, nextLink). */
      skeleton: unknown;
      size: number;
      /** The last element's identity, ahead of the others. */
      last: unknown;
      /** Every element, parsed in batches (or on the worker); memoised. */
      items: () => Promise<PageItems>;
      /**
       * Gives the body's memory back once its events are written, for the next response to fill
       * (see bodyPool.ts); its views are then empty.
       */
      release: () => void;
    }
  /** No top-level `value` array: the body, to be parsed whole. */
  | { kind: 'whole'; bytes: Buffer };

/** Rejects with InvalidJsonError when the body, or later an element, is not JSON. */
export type PageParser = (bytes: Buffer, timeProperty: string) => Promise<ParsedPage>;

/** The same work in this thread, yielding between batches of elements. */
export const parseInThread: PageParser = async (bytes, timeProperty) => {
  const layout = layoutOf(bytes);
  if (!layout) return { kind: 'whole', bytes };
  const size = layout.starts.length;
  const last = size ? identityAt(bytes, layout, size - 1, timeProperty) : undefined;
  let items: Promise<PageItems> | undefined;
  const parseAll = async (): Promise<PageItems> => {
    const identities: unknown[] = [];
    for (let i = 0; i < size; i++) {
      if (i > 0 && i % PARSE_BATCH === 0) await nextTurn();
      identities.push(identityAt(bytes, layout, i, timeProperty));
    }
    return { elements: elementsOf(bytes, layout), identities };
  };
  return { kind: 'head', skeleton: layout.skeleton, size, last, items: () => (items ??= parseAll()), release: () => giveBack(bytes) };
};

function elementsOf(bytes: Buffer, layout: Pick<PageLayout, 'starts' | 'ends'>): Buffer[] {
  return Array.from(layout.starts, (start, i) => bytes.subarray(start, layout.ends[i]));
}

interface Job {
  /** The body's bytes at the start of its buffer. */
  length: number;
  head: Deferred<ParsedPage>;
  items: Deferred<PageItems>;
  layout?: Pick<PageLayout, 'starts' | 'ends'>;
  headDone: boolean;
  /** The body, back from the worker with the items. */
  buffer?: ArrayBuffer;
}

/**
 * The worker beside this code: bin/lib/pageWorker.js beside the app's bin/lib/collector.js (the
 * bundle's import.meta.url), src/sources/pageWorker.ts when run from source (where Node cannot
 * load it in a worker, so pages are parsed in this thread).
 */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), `pageWorker${path.extname(here)}`);
}

/**
 * One worker for the process, left to die with it (unref'd whenever no page is in flight). Pages
 * wait in this thread until the worker says it is ready; if it cannot start, they and all later
 * pages are parsed in this thread. If it dies later, the pages it holds fail (the poll fails and
 * its checkpoint stays where it was) and later pages are parsed in this thread.
 */
export class WorkerPageParser {
  private worker?: Worker;
  private ready = false;
  private failed = false;
  private nextJob = 0;
  private readonly jobs = new Map<number, Job>();
  /** Pages given before the worker was ready, still held here. */
  private waiting: { id: number; bytes: Buffer; timeProperty: string }[] = [];

  /** `adopted`: a worker already started from `file` (see adoptPageWorker). */
  constructor(private readonly file = workerFile(), adopted?: Worker) {
    if (adopted) this.attach(adopted);
  }

  readonly parse: PageParser = (bytes, timeProperty) => {
    const worker = this.start();
    if (!worker) return parseInThread(bytes, timeProperty);
    const id = this.nextJob++;
    this.jobs.set(id, { length: bytes.length, head: deferred(), items: deferred(), headDone: false });
    if (this.jobs.size === 1) worker.ref();
    if (this.ready) this.post(worker, id, bytes, timeProperty);
    else this.waiting.push({ id, bytes, timeProperty });
    return this.jobs.get(id)!.head.promise;
  };

  /** Whether the worker was started (or could not be). */
  get started(): boolean {
    return this.worker !== undefined || this.failed;
  }

  /** Starts the worker (once); undefined once it cannot be used. */
  start(): Worker | undefined {
    if (this.worker || this.failed) return this.worker;
    const worker = spawnPageWorker(this.file);
    if (worker) this.attach(worker);
    else this.failed = true;
    return this.worker;
  }

  private attach(worker: Worker): void {
    worker.on('message', (reply: ParseReply) => this.answer(worker, reply));
    worker.on('error', (error) => this.stop(error));
    worker.on('exit', (code) => this.stop(new Error(`it exited (code ${code})`)));
    worker.unref();
    this.worker = worker;
  }

  private post(worker: Worker, id: number, bytes: Buffer, timeProperty: string): void {
    const message: ParseJob = { kind: 'parse', job: id, buffer: ownBuffer(bytes), length: bytes.length, timeProperty };
    worker.postMessage(message, [message.buffer]);
  }

  private answer(worker: Worker, reply: ParseReply): void {
    if (reply.kind === 'ready') {
      this.ready = true;
      for (const { id, bytes, timeProperty } of this.waiting) this.post(worker, id, bytes, timeProperty);
      this.waiting = [];
      return;
    }
    const job = this.jobs.get(reply.job);
    if (!job) return;
    switch (reply.kind) {
      case 'head':
        job.layout = { starts: reply.starts, ends: reply.ends };
        job.headDone = true;
        job.head.resolve({
          kind: 'head', skeleton: reply.skeleton, size: reply.starts.length, last: reply.last,
          items: () => job.items.promise,
          release: () => this.release(job),
        });
        return;
      case 'items':
        job.buffer = reply.buffer;
        job.items.resolve({ elements: elementsOf(Buffer.from(reply.buffer), job.layout!), identities: reply.identities });
        break;
      case 'whole':
        job.head.resolve({ kind: 'whole', bytes: Buffer.from(reply.buffer, 0, job.length) });
        break;
      case 'invalid':
        (job.headDone ? job.items : job.head).reject(new InvalidJsonError());
        break;
    }
    this.finish(reply.job);
  }

  /** Gives the body (once its items came back) to the pool. */
  private release(job: Job): void {
    const buffer = job.buffer;
    job.buffer = undefined;
    if (buffer) bodies.give(buffer);
  }

  private finish(id: number): void {
    this.jobs.delete(id);
    if (!this.jobs.size) this.worker?.unref();
  }

  private stop(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.worker = undefined;
    // Pages still held here are parsed in this thread; those handed over are gone with the worker.
    for (const { id, bytes, timeProperty } of this.waiting) {
      const job = this.jobs.get(id)!;
      this.jobs.delete(id);
      parseInThread(bytes, timeProperty).then(job.head.resolve, job.head.reject);
    }
    this.waiting = [];
    for (const [id, job] of this.jobs) {
      const failure = new Error(`The page parser thread failed: ${error.message}`);
      job.head.reject(failure);
      job.items.reject(failure);
      this.jobs.delete(id);
    }
  }
}

/** A body read in this thread: its pooled memory back once its events are written. */
function giveBack(bytes: Buffer): void {
  if (bytes.byteOffset === 0 && bodies.ownsWhole(bytes.buffer)) bodies.give(bytes.buffer);
}

/**
 * The body's memory, transferable from its start: its own ArrayBuffer when no other buffer shares
 * it (a pooled body, or one that fills it), else a copy.
 */
function ownBuffer(bytes: Buffer): ArrayBuffer {
  const alone = bytes.byteLength === bytes.buffer.byteLength || bodies.ownsWhole(bytes.buffer);
  if (bytes.byteOffset === 0 && alone && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  // A page whose items are never asked for (the read went on by offset) must not leave an
  // unhandled rejection behind; whoever awaits the promise still sees it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Below this size a page is parsed in this thread until the worker runs (a full page of alerts is ~5 MB). */
const IN_THREAD_MAX_BYTES = 64 * 1024;

let shared: WorkerPageParser | undefined;

/** The process's page parser: on the worker thread when it can start. */
export const parsePage: PageParser = (bytes, timeProperty) => {
  shared ??= new WorkerPageParser();
  // A page this small (a quiet poll's, most often empty) is not worth starting a thread for: the
  // worker's start costs ~50 ms of CPU and ~5 MB, such a page's parse a fraction of a millisecond.
  if (!shared.started && bytes.length < IN_THREAD_MAX_BYTES) return parseInThread(bytes, timeProperty);
  return shared.parse(bytes, timeProperty);
};

/** Starts the worker ahead of the first page (it takes ~50 ms, which the token request can hide) when a backlog is likely. */
export function startPageParser(): void {
  (shared ??= new WorkerPageParser()).start();
}

/**
 * Takes over the worker the input's entry started from this bundle's pageWorker.js before loading
 * it (see inputs/start.ts). Called in the same synchronous run as the worker's start, so that no
 * message of the worker can come before its listener.
 */
export function adoptPageWorker(worker: Worker): void {
  if (shared) void worker.terminate();
  else shared = new WorkerPageParser(workerFile(), worker);
}
