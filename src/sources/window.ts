import { canonicalTimestamp, fromEpochMs, toEpochMs } from '../microsoft/timestamps.js';
import type { Logger } from '../splunk/log.js';

/**
 * Gap-free, duplicate-free collection from a Graph (or Defender for Endpoint) list that pages by
 * offset and sorts as it likes unless asked otherwise.
 *
 * Each poll reads one closed window [from, to): `to` is the poll's start, `from` the high-water
 * mark minus the re-read window. Items updated while we page leave the window (their new
 * lastUpdateDateTime is after `to`) and are read by the next poll.
 *
 * When the list can be asked for oldest change first (`ascendingQuery`), the window is read by
 * keyset: each page is a new query after the last time of the page before (see keyset()).
 * Otherwise, or when the order turns out to be ignored, by offset: leaving shifts the offsets of
 * the others, so every page is read with $count, and a slice whose count moved while it was
 * paged is paged again (already-emitted versions are skipped). A window holding more than
 * `maxSliceItems` is split in time and read oldest slice first, so deep $skip is avoided, memory
 * stays bounded and the checkpoint advances slice by slice.
 */

export interface Page<T> {
  /** The items, when the page holds them parsed already; else read(). */
  items?: T[];
  /** `@odata.count` of the whole filtered set when this page was served; -1 when the API gave none. */
  count: number;
  /** The following page; for an API without counts, present whenever this page may not be the last. */
  next?: () => Promise<Page<T>>;
  /** The page's last item, read without reading the others (they may be parsed lazily). */
  last?: () => T | undefined;
  /** The items, parsed when first asked for (the next request goes out meanwhile); memoised. */
  read?: () => Promise<T[]>;
  /** How many items the page holds, known before they are parsed. */
  size?: number;
  /** Called once the page's events are written: its bytes may be freed (its items' raw JSON with them). */
  release?: () => void;
}

/**
 * Reads the first page of the items whose lastUpdateDateTime is in [from, to) (canonical
 * timestamps), or in (from, to) when `after`; from offset `skip` when given.
 */
export type WindowQuery<T> = (from: string, to: string, after?: boolean, skip?: number) => Promise<Page<T>>;

export interface WindowCheckpoint {
  version: 1;
  /** Every item version updated before this instant has been emitted. */
  highWaterMark: string;
  /** `lastUpdate|id` of versions emitted at or after highWaterMark minus the re-read window. */
  emitted: string[];
}

export function isWindowCheckpoint(value: unknown): value is WindowCheckpoint {
  const v = value as WindowCheckpoint;
  return (
    typeof v === 'object' && v !== null && v.version === 1 && typeof v.highWaterMark === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/.test(v.highWaterMark) &&
    Array.isArray(v.emitted) && v.emitted.every((k) => typeof k === 'string')
  );
}

export interface WindowOptions<T> {
  query: WindowQuery<T>;
  /**
   * The same list asked for oldest change first (`$orderby=lastUpdateDateTime asc`), when the API
   * may honour it. Windows are then read by keyset (see keyset()); if a page shows the order was
   * ignored, the window falls back to `query`.
   */
  ascendingQuery?: WindowQuery<T>;
  /**
   * A full page's size ($top). With it, a keyset read asks for the next two pages at once (the
   * second at $skip=pageSize) whenever the count shows two more: still one request per page, and
   * half the round trips (see KeysetFetcher).
   */
  pageSize?: number;
  identify: (item: T) => { id: string; lastUpdate: string };
  /** Writes the page's new items as events and resolves once they are flushed to splunkd. */
  emit: (items: T[]) => Promise<void>;
  /** Persists progress atomically. */
  save: (checkpoint: WindowCheckpoint) => Promise<void>;
  logger: Logger;
  checkpoint: WindowCheckpoint;
  /** Lower bound (epoch ms): start_date on a first run, else the high-water mark minus the re-read window. */
  fromMs: number;
  /** Poll start (epoch ms): the window's closed upper bound. */
  toMs: number;
  reReadWindowMs: number;
  maxSliceItems: number;
  /** Passes over one slice before it is split instead (it keeps changing under us). */
  maxPasses?: number;
}

export interface WindowResult {
  emitted: number;
  skippedDuplicates: number;
  pages: number;
  slices: number;
  repaged: number;
  highWaterMark: string;
}

export async function collectWindow<T>(options: WindowOptions<T>): Promise<WindowResult> {
  return new WindowCollector(options).run();
}

class WindowCollector<T> {
  private readonly emitted: Set<string>;
  private highWaterMark: string;
  private readonly result: Omit<WindowResult, 'highWaterMark'> = { emitted: 0, skippedDuplicates: 0, pages: 0, slices: 0, repaged: 0 };

  constructor(private readonly o: WindowOptions<T>) {
    this.emitted = new Set(o.checkpoint.emitted);
    this.highWaterMark = o.checkpoint.highWaterMark;
  }

  async run(): Promise<WindowResult> {
    if (this.o.fromMs < this.o.toMs) {
      if (this.o.ascendingQuery) await this.keyset(this.o.ascendingQuery, this.o.fromMs, this.o.toMs);
      else await this.range(this.o.fromMs, this.o.toMs);
    }
    return { ...this.result, highWaterMark: this.highWaterMark };
  }

  /**
   * Reads [fromMs, toMs) oldest change first, each page a new query that starts just after the
   * last change time of the page before (keyset paging, as Elastic's integration reads these
   * lists). No page is read at an offset, so a window of any size costs one request per page: the
   * minimum.
   *
   * Nothing is taken on trust from the order alone (`$orderby` is not documented for these
   * lists). The high-water mark moves to a page's last time only once the next page's count
   * proves that page complete: the count after its last time must be its own count minus its own
   * items. Items left out (the order ignored, items at that last time that did not fit on the
   * page) or the window changing in between show as a different count. Then the rest of the
   * window, from the last proven mark, is read by offset with `range()`, which verifies its own
   * passes; what was emitted already is skipped. The last page must hold exactly its count.
   */
  private async keyset(ascending: WindowQuery<T>, fromMs: number, toMs: number): Promise<void> {
    const to = fromEpochMs(toMs);
    const fetcher = new KeysetFetcher<T>(ascending, fromEpochMs(fromMs), to, (item) => this.timeOf(item), this.o.logger, this.o.pageSize);
    let proven = fromEpochMs(fromMs);
    let previous: { keys: Set<string>; last: string } | undefined;
    try {
      for (;;) {
        const fetched = await fetcher.take();
        if ('fallback' in fetched) return await this.keysetFallback(fetcher, fetched.fallback, toMs);
        const { page, anchor, after, mark, continues } = fetched;
        this.result.pages++;
        const items = await itemsOf(page);
        const keys = items.map((item) => this.keyOf(item));
        const times = keys.map((key) => key.slice(0, key.indexOf('|')));
        const ordered = times.every((time, i) => (after ? time > anchor : time >= anchor) && time < to && (i === 0 || time >= times[i - 1]));
        // The second page of a pair goes on where the first ended, and repeats none of it: a
        // repeat means ties came in another order the second time, so one of them was skipped.
        const continued = !continues || (previous !== undefined && (times[0] === undefined || times[0] >= previous.last) && !keys.some((key) => previous!.keys.has(key)));
        if (!ordered || !continued) return await this.keysetFallback(fetcher, proven, toMs);
        await this.emitNew(items, keys, mark);
        page.release?.();
        previous = { keys: new Set(keys), last: times.at(-1) ?? previous?.last ?? anchor };
        if (mark !== undefined) proven = mark;
        if (mark === to) {
          this.result.slices++;
          return;
        }
      }
    } finally {
      await fetcher.stop();
    }
  }

  /** Not provably complete: reads the rest of the window by offset, from the last proven mark. */
  private async keysetFallback(fetcher: KeysetFetcher<T>, from: string, toMs: number): Promise<void> {
    this.o.logger.info('Items did not come oldest change first, or the window changed while read; reading the rest of it by offset', { from, to: fromEpochMs(toMs) });
    this.result.repaged++;
    await fetcher.stop();
    return this.range(toEpochMs(from), toMs);
  }

  /** Reads [fromMs, toMs), split while it holds too many items. */
  private async range(fromMs: number, toMs: number): Promise<void> {
    const first = await this.o.query(fromEpochMs(fromMs), fromEpochMs(toMs));
    if (this.tooBig(first)) {
      if (toMs - fromMs > 1) {
        const parts = this.partsFor(first);
        this.o.logger.debug('Splitting window', { from: fromEpochMs(fromMs), to: fromEpochMs(toMs), count: first.count, parts });
        return this.split(fromMs, toMs, parts);
      }
      if (first.count < 0) {
        this.o.logger.warn('More items than one page in one millisecond and the API gives no count; paging them unverified', { from: fromEpochMs(fromMs) });
      }
    }
    await this.slice(fromMs, toMs, first);
  }

  /**
   * Too many items for one slice. An API without $count (Defender for Endpoint) cannot prove a
   * multi-page pass complete, so its windows are narrowed until one page holds them: a single
   * response is a consistent snapshot, where no offset can shift between pages.
   */
  private tooBig(first: Page<T>): boolean {
    return first.count > this.o.maxSliceItems || (first.count < 0 && first.next !== undefined);
  }

  /**
   * How many equal time slices a window of `first.count` items is read in. Every slice ends with a
   * partly filled page and a slice over the cap costs one wasted first page, so slices aim at whole
   * pages just under 90% of the cap: fewer, fuller slices than halving (measured on 100k alerts
   * spread over 30 days: 122 list requests by halving, 109 this way, for a minimum of 100).
   * Without a count, halves.
   */
  private partsFor(first: Page<T>): number {
    if (first.count < 0) return 2;
    const pageSize = Math.max(1, first.size ?? first.items?.length ?? 0);
    const pagesPerSlice = Math.max(1, Math.floor((0.9 * this.o.maxSliceItems) / pageSize));
    return Math.max(2, Math.ceil(first.count / (pagesPerSlice * pageSize)));
  }

  /** Reads `parts` equal slices, the oldest first, so the high-water mark only moves forward. */
  private async split(fromMs: number, toMs: number, parts = 2): Promise<void> {
    const n = Math.min(parts, toMs - fromMs);
    for (let i = 0; i < n; i++) {
      const start = fromMs + Math.floor(((toMs - fromMs) * i) / n);
      const end = i === n - 1 ? toMs : fromMs + Math.floor(((toMs - fromMs) * (i + 1)) / n);
      await this.range(start, end);
    }
  }

  private async slice(fromMs: number, toMs: number, first: Page<T>): Promise<void> {
    const maxPasses = this.o.maxPasses ?? 3;
    for (let pass = 1; ; pass++) {
      const page = pass === 1 ? first : await this.o.query(fromEpochMs(fromMs), fromEpochMs(toMs));
      if (await this.readSlice(page)) break;
      this.result.repaged++;
      if (pass >= maxPasses) {
        // The slice keeps changing while we page it: smaller slices change less.
        if (toMs - fromMs > 1) return this.split(fromMs, toMs);
        throw new Error(`Items in ${fromEpochMs(fromMs)} kept changing over ${maxPasses} reads; the checkpoint stays before it and the next poll reads it again.`);
      }
      this.o.logger.info('Window changed while paging; reading it again', { from: fromEpochMs(fromMs), to: fromEpochMs(toMs), pass });
    }
    this.result.slices++;
    await this.advance(toMs);
  }

  /**
   * One pass over a slice; true when it provably saw the whole set: every page reported the same
   * count and the pass met exactly that many distinct versions (a repeat means offsets shifted, so
   * something else may have been skipped). A page without a count (-1) proves nothing either way.
   */
  private async readSlice(first: Page<T>): Promise<boolean> {
    const expected = first.count;
    const seen = new Set<string>();
    let stable = true;
    for (let page: Page<T> | undefined = first; page; ) {
      // The next page is requested before this one is written, so the API's latency overlaps
      // our work. Only one page ahead: memory stays bounded by two pages.
      const next: Promise<Page<T>> | undefined = page.next?.();
      next?.catch(() => undefined); // observed below; this only keeps an early failure from going unhandled
      // Let that request leave before this page's CPU work: its first steps are promise callbacks
      // and undici writes on a later turn of the event loop, hence two turns (measured with 100 ms
      // API latency: the request reached the server ~100 ms late without them, on time with them).
      if (next) await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
      this.result.pages++;
      const items = await itemsOf(page);
      const keys = items.map((item) => this.keyOf(item));
      for (const key of keys) seen.add(key);
      if (page.count >= 0 && page.count !== expected) stable = false;
      await this.emitNew(items, keys);
      page.release?.();
      page = next ? await next : undefined;
    }
    // Without a count nothing can be verified; Graph always sends one when asked.
    return expected < 0 || (stable && seen.size === expected);
  }

  /**
   * Emits the items not emitted yet, then saves the checkpoint once: with the high-water mark
   * moved to `advanceTo` when given (keyset paging: every version before it is now out).
   */
  private async emitNew(items: T[], itemKeys: string[], advanceTo?: string): Promise<void> {
    const fresh: T[] = [];
    const keys = new Set<string>();
    for (const [i, item] of items.entries()) {
      const key = itemKeys[i];
      // The same version can appear twice within a pass when offsets shift back.
      if (this.emitted.has(key) || keys.has(key)) {
        this.result.skippedDuplicates++;
        continue;
      }
      fresh.push(item);
      keys.add(key);
    }
    if (fresh.length) {
      await this.o.emit(fresh);
      for (const key of keys) this.emitted.add(key);
      this.result.emitted += fresh.length;
    } else if (advanceTo === undefined) {
      return;
    }
    if (advanceTo !== undefined) this.moveHighWaterMark(advanceTo);
    // Saved after the flush: a kill between the two re-emits this page, never loses it.
    await this.save();
  }

  /** `lastUpdate|id`; an unparseable time is kept verbatim, so one odd item never stops a poll. */
  private keyOf(item: T): string {
    const { id, lastUpdate } = this.o.identify(item);
    return `${canonicalOrUndefined(lastUpdate) ?? String(lastUpdate)}|${id}`;
  }

  /** The item's canonical change time; undefined when it is not a timestamp. */
  private timeOf(item: T): string | undefined {
    return canonicalOrUndefined(this.o.identify(item).lastUpdate);
  }

  private async advance(toMs: number): Promise<void> {
    this.moveHighWaterMark(fromEpochMs(toMs));
    await this.save();
  }

  /** Moves the mark forward (never back) and forgets emitted versions older than the re-read window. */
  private moveHighWaterMark(to: string): void {
    if (to <= this.highWaterMark) return;
    this.highWaterMark = to;
    const keepFrom = fromEpochMs(toEpochMs(this.highWaterMark) - this.o.reReadWindowMs);
    for (const key of this.emitted) if (key.slice(0, key.indexOf('|')) < keepFrom) this.emitted.delete(key);
  }

  private save(): Promise<void> {
    return this.o.save({ version: 1, highWaterMark: this.highWaterMark, emitted: [...this.emitted] });
  }
}

/** A page's items, however it holds them. */
async function itemsOf<T>(page: Page<T>): Promise<T[]> {
  if (page.read) return page.read();
  if (page.items) return page.items;
  throw new Error('A page has neither items nor read()');
}

function canonicalOrUndefined(lastUpdate: unknown): string | undefined {
  try {
    return canonicalTimestamp(String(lastUpdate));
  } catch {
    return undefined;
  }
}

/** One page of a keyset read, with the query it answered; or where the read must go on by offset. */
type KeysetPage<T> =
  | {
      page: Page<T>;
      anchor: string;
      after: boolean;
      /** The second page of a pair: the same query at $skip, going on where the page before ended. */
      continues?: boolean;
      /** Where the high-water mark may move once this page is emitted: proven complete before it. */
      mark?: string;
    }
  | { fallback: string };

/**
 * Fetches a keyset read's pages as fast as they come: the query for the next pages needs only the
 * last item's time, so it leaves as soon as a page arrives, while the collector still parses and
 * writes the pages before (at most AHEAD are held). Once a count shows two more pages, both are
 * asked for at once: the same query at $skip 0 and $skip pageSize. Each query's count proves the
 * pages before it complete or not (see WindowCollector.keyset), the second page of a pair must
 * report its first page's count; at the first page that fails, or whose last time does not move
 * forward, it hands over a fallback and stops.
 */
class KeysetFetcher<T> {
  private static readonly AHEAD = 2;
  private readonly ready: (KeysetPage<T> | { error: unknown })[] = [];
  private wake?: () => void;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly query: WindowQuery<T>,
    from: string,
    private readonly to: string,
    private readonly timeOf: (item: T) => string | undefined,
    private readonly logger: Logger,
    private readonly pageSize?: number,
  ) {
    this.done = this.run(from).catch((error: unknown) => this.push({ error }));
  }

  /** The next page, in order. */
  async take(): Promise<KeysetPage<T>> {
    while (!this.ready.length) await new Promise<void>((resolve) => (this.wake = resolve));
    const next = this.ready.shift()!;
    this.wake?.();
    if ('error' in next) throw next.error;
    return next;
  }

  /** Stops asking for pages and waits for requests in flight, so nothing outlives the read. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }

  private push(entry: KeysetPage<T> | { error: unknown }): void {
    this.ready.push(entry);
    this.wake?.();
  }

  /** The last item's time when it moves forward from `anchor` inside the window; else undefined. */
  private lastTime(page: Page<T>, anchor: string): string | undefined {
    const last = page.last ? page.last() : page.items?.at(-1);
    const time = last === undefined ? undefined : this.timeOf(last);
    return time === undefined || time <= anchor || time >= this.to ? undefined : time;
  }

  private async run(from: string): Promise<void> {
    let anchor = from;
    let after = false;
    let proven = from; // every version before it is on a page already handed over
    let expected = -1; // the count this query must have if the pages before were complete
    let lastTime: string | undefined;
    while (!this.stopped) {
      const pair = this.pageSize !== undefined && expected > this.pageSize;
      const second = pair ? this.query(anchor, this.to, after, this.pageSize) : undefined;
      second?.catch(() => undefined); // awaited below, or left when the first page fails
      const page = await this.query(anchor, this.to, after);
      const size = page.size ?? page.items?.length ?? 0;
      // This query proves the pages before it complete: the mark may move to their last time.
      const mark = after ? lastTime : undefined;
      if (page.count < 0 || (after && page.count !== expected)) {
        this.logger.debug('Page count does not prove the pages before complete', { at: anchor, expected, count: page.count });
        return this.fallback(proven, second);
      }
      if (!page.next) {
        // The last page must hold everything its count says is left.
        if (page.count !== size) return this.fallback(mark ?? proven, second);
        return this.push({ page, anchor, after, mark: this.to });
      }
      let time = this.lastTime(page, anchor);
      if (time === undefined) return this.fallback(mark ?? proven, second);
      this.push({ page, anchor, after, mark });
      if (mark !== undefined) proven = mark;
      let read = size;
      if (second) {
        const next = await second;
        const nextSize = next.size ?? next.items?.length ?? 0;
        // The same query: the same count, and a first page that was a full one.
        if (size !== this.pageSize || next.count !== page.count) return this.fallback(proven);
        if (!next.next) {
          if (next.count !== size + nextSize) return this.fallback(proven);
          return this.push({ page: next, anchor, after, continues: true, mark: this.to });
        }
        const nextTime = this.lastTime(next, anchor);
        if (nextTime === undefined || nextTime < time) return this.fallback(proven);
        this.push({ page: next, anchor, after, continues: true });
        time = nextTime;
        read += nextSize;
      }
      while (this.ready.length >= KeysetFetcher.AHEAD && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped) return;
      expected = page.count - read;
      lastTime = time;
      after = true;
      anchor = time;
    }
  }

  /** Hands over a fallback from `from`, once a request still in flight has settled. */
  private async fallback(from: string, inFlight?: Promise<unknown>): Promise<void> {
    await inFlight?.catch(() => undefined);
    this.push({ fallback: from });
  }
}
