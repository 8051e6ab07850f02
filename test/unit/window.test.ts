import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalTimestamp, fromEpochMs, toEpochMs } from '../../src/microsoft/timestamps.js';
import { createLogger } from '../../src/splunk/log.js';
import { collectWindow, type Page, type WindowCheckpoint, type WindowQuery } from '../../src/sources/window.js';

/**
 * An in-memory list with Graph's paging semantics (newest first, $skip offsets, $count per page),
 * small enough to reason about each case; the simulator-backed tests cover the wire.
 */
interface Item {
  id: string;
  lastUpdateDateTime: string;
  createdDateTime: string;
}

class FakeList {
  items = new Map<string, Item>();
  requests = 0;
  onPage?: (skip: number) => void;
  /** counted false: Defender for Endpoint's list, which sends no @odata.count. */
  constructor(readonly pageSize: number, readonly counted = true) {}

  add(id: string, ms: number): void {
    this.items.set(id, { id, lastUpdateDateTime: fromEpochMs(ms), createdDateTime: fromEpochMs(ms) });
  }
  update(id: string, ms: number): void {
    const item = this.items.get(id)!;
    this.items.set(id, { ...item, lastUpdateDateTime: fromEpochMs(ms) });
  }
  /** false: `$orderby` is ignored, as a server that does not know it would. */
  honoursOrder = true;
  query: WindowQuery<Item> = async (from, to) => this.page(from, to, 0, false);
  /** The same list with `$orderby=lastUpdateDateTime asc`: oldest change first, ties by id. */
  ascending: WindowQuery<Item> = async (from, to, after, skip = 0) => this.page(from, to, skip, this.honoursOrder, after);
  private async page(from: string, to: string, skip: number, ascending: boolean, after = false): Promise<Page<Item>> {
    this.requests++;
    const matching = [...this.items.values()]
      .filter((i) => (after ? i.lastUpdateDateTime > from : i.lastUpdateDateTime >= from) && i.lastUpdateDateTime < to)
      .sort(ascending
        ? (a, b) => (a.lastUpdateDateTime === b.lastUpdateDateTime ? (a.id < b.id ? -1 : 1) : a.lastUpdateDateTime < b.lastUpdateDateTime ? -1 : 1)
        : (a, b) => (a.createdDateTime < b.createdDateTime ? 1 : -1));
    const items = matching.slice(skip, skip + this.pageSize);
    const count = matching.length;
    this.onPage?.(skip);
    const nextSkip = skip + this.pageSize;
    return { items, count: this.counted ? count : -1, next: nextSkip < count ? () => this.page(from, to, nextSkip, ascending, after) : undefined };
  }
}

const T0 = Date.parse('2024-05-01T00:00:00Z');
const quiet = createLogger({ write: () => {} });

async function poll(
  list: FakeList,
  checkpoint: WindowCheckpoint | undefined,
  nowMs: number,
  opts: { maxSliceItems?: number; failAfterEmits?: number; reReadMs?: number; ascending?: boolean; pairs?: boolean } = {},
) {
  const emitted: Item[] = [];
  let saved: WindowCheckpoint = checkpoint ?? { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] };
  let emits = 0;
  const reReadWindowMs = opts.reReadMs ?? 60_000;
  try {
    await collectWindow<Item>({
      query: list.query,
      ascendingQuery: opts.ascending ? list.ascending : undefined,
      pageSize: opts.pairs ? list.pageSize : undefined,
      identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
      emit: async (items) => {
        if (opts.failAfterEmits !== undefined && emits >= opts.failAfterEmits) throw new Error('killed');
        emits++;
        emitted.push(...items.map((i) => ({ ...i })));
      },
      save: async (c) => {
        saved = structuredClone(c);
      },
      logger: quiet,
      checkpoint: saved,
      fromMs: checkpoint ? toEpochMs(checkpoint.highWaterMark) - reReadWindowMs : T0,
      toMs: nowMs,
      reReadWindowMs,
      maxSliceItems: opts.maxSliceItems ?? 1000,
    });
  } catch (error) {
    if ((error as Error).message !== 'killed') throw error;
  }
  return { emitted, checkpoint: saved };
}

const versions = (items: Item[]) => items.map((i) => `${i.id}@${i.lastUpdateDateTime}`);

test('first poll emits everything in [start, now); a quiet poll emits nothing', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 35; i++) list.add(`a${i}`, T0 + i * 1000);
  list.add('future', T0 + 100_000); // updated after the poll started: next poll
  const first = await poll(list, undefined, T0 + 50_000);
  assert.equal(first.emitted.length, 35);
  assert.equal(new Set(versions(first.emitted)).size, 35);
  assert.equal(first.checkpoint.highWaterMark, canonicalTimestamp(fromEpochMs(T0 + 50_000)));
  const second = await poll(list, first.checkpoint, T0 + 60_000);
  assert.deepEqual(second.emitted, []);
  const third = await poll(list, second.checkpoint, T0 + 200_000);
  assert.deepEqual(versions(third.emitted), [`future@${fromEpochMs(T0 + 100_000)}`]);
});

test('an updated alert is emitted again with its new lastUpdateDateTime', async () => {
  const list = new FakeList(10);
  list.add('a', T0 + 1000);
  const first = await poll(list, undefined, T0 + 10_000);
  list.update('a', T0 + 20_000);
  const second = await poll(list, first.checkpoint, T0 + 30_000);
  assert.deepEqual(versions(second.emitted), [`a@${fromEpochMs(T0 + 20_000)}`]);
});

test('a late-indexed item inside the re-read window is caught, and re-read items are not repeated', async () => {
  const list = new FakeList(10);
  list.add('early', T0 + 45_000);
  const first = await poll(list, undefined, T0 + 50_000);
  // Appears in the API only now, stamped 20 s before the previous high-water mark.
  list.add('late', T0 + 30_000);
  const second = await poll(list, first.checkpoint, T0 + 70_000, { reReadMs: 60_000 });
  assert.deepEqual(versions(second.emitted), [`late@${fromEpochMs(T0 + 30_000)}`]);
});

test('items updated while paging shift offsets; the slice is re-paged and nothing is lost or repeated', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 50; i++) list.add(`a${i}`, T0 + i * 1000);
  let mutations = 0;
  // After each of the first pages, two items on earlier pages (newest first) move out of the window.
  list.onPage = (skip) => {
    if (skip >= 10 && mutations < 6) {
      list.update(`a${49 - mutations}`, T0 + 500_000 + mutations);
      mutations++;
    }
  };
  const first = await poll(list, undefined, T0 + 100_000);
  list.onPage = undefined;
  const second = await poll(list, first.checkpoint, T0 + 600_000);
  const all = [...versions(first.emitted), ...versions(second.emitted)];
  assert.equal(new Set(all).size, all.length, 'no version twice');
  // Every original version of a0..a43 plus the updated a44..a49 versions; the originals of
  // a44..a49 were replaced before they could be read, which is what the API shows.
  for (let i = 0; i < 44; i++) assert.ok(all.includes(`a${i}@${fromEpochMs(T0 + i * 1000)}`), `a${i} lost`);
  for (let m = 0; m < 6; m++) assert.ok(all.includes(`a${49 - m}@${fromEpochMs(T0 + 500_000 + m)}`), `update of a${49 - m} lost`);
});

test('a large window is bisected into slices and the checkpoint advances slice by slice', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 500; i++) list.add(`a${i}`, T0 + i * 100);
  const saves: string[] = [];
  const result = await collectWindow<Item>({
    query: list.query,
    identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
    emit: async () => {},
    save: async (c) => void saves.push(c.highWaterMark),
    logger: quiet,
    checkpoint: { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] },
    fromMs: T0,
    toMs: T0 + 50_000,
    reReadWindowMs: 0,
    maxSliceItems: 40,
  });
  assert.equal(result.emitted, 500);
  assert.ok(result.slices >= 13, `expected many slices, got ${result.slices}`);
  const advancing = [...new Set(saves)];
  assert.deepEqual(advancing, [...advancing].sort(), 'high-water mark only moves forward');
  assert.ok(advancing.length >= 13);
});

test('killed mid-run: resume loses nothing and repeats at most one page', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 95; i++) list.add(`a${i}`, T0 + i * 100);
  for (let killAt = 1; killAt < 10; killAt++) {
    // The kill lands after the page was flushed but before its checkpoint: emit succeeded,
    // save did not. Simulated by dropping the last save.
    const emitted: Item[] = [];
    let saved: WindowCheckpoint = { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] };
    let pages = 0;
    await collectWindow<Item>({
      query: list.query,
      identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
      emit: async (items) => {
        if (++pages > killAt) throw new Error('killed');
        emitted.push(...items);
      },
      save: async (c) => {
        if (pages < killAt) saved = structuredClone(c);
      },
      logger: quiet,
      checkpoint: saved,
      fromMs: T0,
      toMs: T0 + 20_000,
      reReadWindowMs: 0,
      maxSliceItems: 1000,
    }).catch((e: Error) => assert.equal(e.message, 'killed'));
    const resumed = await poll(list, saved, T0 + 20_000, { reReadMs: 0 });
    const all = [...versions(emitted), ...versions(resumed.emitted)];
    assert.equal(new Set(all).size, 95, `kill after page ${killAt}: something lost`);
    assert.ok(all.length - 95 <= 10, `kill after page ${killAt}: ${all.length - 95} repeated`);
  }
});

test('an item with an unusable lastUpdateDateTime is emitted once and does not stop the poll', async () => {
  const list = new FakeList(10);
  list.add('ok', T0 + 1000);
  const odd = { id: 'odd', lastUpdateDateTime: 'not a time', createdDateTime: fromEpochMs(T0) };
  const query: WindowQuery<Item> = async (from, to) => {
    const page = await list.query(from, to);
    return { ...page, items: [...page.items!, odd], count: page.count + 1 };
  };
  const emitted: string[] = [];
  let saved: WindowCheckpoint = { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] };
  for (let run = 0; run < 2; run++) {
    await collectWindow<Item>({
      query,
      identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
      emit: async (items) => void emitted.push(...items.map((i) => i.id)),
      save: async (c) => void (saved = structuredClone(c)),
      logger: quiet,
      checkpoint: saved,
      fromMs: T0,
      toMs: T0 + 10_000,
      reReadWindowMs: 60_000,
      maxSliceItems: 100,
    });
  }
  assert.deepEqual(emitted.sort(), ['odd', 'ok']);
});

function scripted(pages: { ids: string[]; count: number }[][], ms: (id: string) => number): WindowQuery<Item> & { calls: number } {
  // Each call of the query replays the next scripted pass, page by page.
  const query = (async () => {
    const pass = pages[Math.min(query.calls++, pages.length - 1)];
    const toPage = (i: number): Page<Item> => ({
      items: pass[i].ids.map((id) => ({ id, lastUpdateDateTime: fromEpochMs(ms(id)), createdDateTime: fromEpochMs(ms(id)) })),
      count: pass[i].count,
      next: i + 1 < pass.length ? async () => toPage(i + 1) : undefined,
    });
    return toPage(0);
  }) as unknown as WindowQuery<Item> & { calls: number };
  query.calls = 0;
  return query;
}

async function collectAll(query: WindowQuery<Item>): Promise<string[]> {
  const emitted: string[] = [];
  await collectWindow<Item>({
    query,
    identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
    emit: async (items) => void emitted.push(...items.map((i) => i.id)),
    save: async () => {},
    logger: quiet,
    checkpoint: { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] },
    fromMs: T0,
    toMs: T0 + 10_000,
    reReadWindowMs: 0,
    maxSliceItems: 100,
  });
  return emitted;
}

test('a pass that repeats one item and skips another (same count) is paged again', async () => {
  const ms = (id: string) => T0 + 'ABCD'.indexOf(id) * 1000;
  const query = scripted(
    [
      [{ ids: ['A', 'B'], count: 4 }, { ids: ['B', 'D'], count: 4 }],
      [{ ids: ['A', 'B'], count: 4 }, { ids: ['C', 'D'], count: 4 }],
    ],
    ms,
  );
  assert.deepEqual((await collectAll(query)).sort(), ['A', 'B', 'C', 'D']);
  assert.equal(query.calls, 2);
});

test('later pages without @odata.count do not look like a changing set', async () => {
  const ms = (id: string) => T0 + Number(id.slice(1)) * 100;
  const query = scripted([[{ ids: ['a1', 'a2'], count: 5 }, { ids: ['a3', 'a4'], count: -1 }, { ids: ['a5'], count: -1 }]], ms);
  assert.equal((await collectAll(query)).length, 5);
  assert.equal(query.calls, 1, 'one pass suffices');
});

test('without $count, windows narrow until one page holds them; updates while reading lose nothing', async () => {
  const list = new FakeList(10, false);
  for (let i = 0; i < 200; i++) list.add(`a${i}`, T0 + i * 250);
  const pagesServed: number[] = [];
  let mutations = 0;
  list.onPage = (skip) => {
    pagesServed.push(skip);
    // Items leave the window while it is read, as updates do on a live tenant.
    if (mutations < 5) list.update(`a${mutations * 37}`, T0 + 900_000 + mutations++);
  };
  const first = await poll(list, undefined, T0 + 100_000);
  list.onPage = undefined;
  // Only first pages are ever read: a second page could have shifted and cannot be verified.
  assert.ok(pagesServed.every((skip) => skip === 0), 'never paged by offset');
  const second = await poll(list, first.checkpoint, T0 + 1_000_000);
  const all = [...versions(first.emitted), ...versions(second.emitted)];
  assert.equal(new Set(all).size, all.length, 'no version twice');
  for (let i = 0; i < 200; i++) {
    const item = list.items.get(`a${i}`)!;
    assert.ok(all.includes(`a${i}@${item.lastUpdateDateTime}`), `current version of a${i} lost`);
  }
});

test('without $count, more than a page in one millisecond is paged (with a warning) rather than skipped', async () => {
  const list = new FakeList(10, false);
  for (let i = 0; i < 25; i++) list.add(`same${i}`, T0 + 5000);
  const first = await poll(list, undefined, T0 + 10_000);
  assert.equal(new Set(versions(first.emitted)).size, 25);
});

test('a large window is split in proportion to its count: far fewer requests than halving, never over the cap', async () => {
  const list = new FakeList(10);
  // 5,000 items spread evenly over 50,000 s; the cap is 10 pages.
  for (let i = 0; i < 5000; i++) list.add(`a${i}`, T0 + i * 10_000 + ((i * 7919) % 10_000));
  const sliceCounts: number[] = [];
  const query: WindowQuery<Item> = async (from, to) => {
    const page = await list.query(from, to);
    sliceCounts.push(page.count);
    return page;
  };
  const result = await collectWindow<Item>({
    query,
    identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
    emit: async () => {},
    save: async () => {},
    logger: quiet,
    checkpoint: { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] },
    fromMs: T0,
    toMs: T0 + 50_000_000,
    reReadWindowMs: 0,
    maxSliceItems: 100,
  });
  assert.equal(result.emitted, 5000);
  const minimum = 5000 / 10;
  // Halving reads 5000 -> 2500 -> ... -> 78 per slice: 127 wasted first pages and 64 partial pages.
  assert.ok(list.requests <= minimum * 1.15, `${list.requests} requests for a minimum of ${minimum}`);
  assert.equal(Math.max(...sliceCounts.slice(1)) <= 100, true, 'no slice read over the cap');
});

// Keyset paging: the window read oldest change first, each page a new query from the last time.

test('oldest first: any backlog costs one request per page, and the mark follows each page', async () => {
  const list = new FakeList(100);
  for (let i = 0; i < 2_500; i++) list.add(`a${i}`, T0 + i * 10);
  const marks: string[] = [];
  const result = await collectWindow<Item>({
    query: list.query,
    ascendingQuery: list.ascending,
    identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
    emit: async () => {},
    save: async (c) => void marks.push(c.highWaterMark),
    logger: quiet,
    checkpoint: { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] },
    fromMs: T0,
    toMs: T0 + 60_000,
    reReadWindowMs: 0,
    maxSliceItems: 300,
  });
  assert.equal(result.emitted, 2_500);
  assert.equal(list.requests, 25, 'one request per page, no probe and no partial pages');
  assert.equal(result.skippedDuplicates, 0);
  // The mark moves to a page's last time once the next page's count proves that page complete.
  assert.deepEqual(marks.slice(0, 4), [fromEpochMs(T0), fromEpochMs(T0 + 99 * 10), fromEpochMs(T0 + 199 * 10), fromEpochMs(T0 + 299 * 10)]);
  assert.equal(marks.at(-1), fromEpochMs(T0 + 60_000));
});

for (const pairs of [false, true]) {
  test(`oldest first${pairs ? ', two pages at once' : ''}: updates while paging lose nothing and repeat nothing, with no second pass`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 60; i++) list.add(`a${i}`, T0 + i * 1000);
    let requests = 0;
    // Between requests, items already read and items not yet read both change (and leave the window).
    list.onPage = () => {
      requests++;
      if (requests <= 4) {
        list.update(`a${requests}`, T0 + 500_000 + requests);
        list.update(`a${59 - requests}`, T0 + 500_000 + 10 + requests);
      }
    };
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    list.onPage = undefined;
    const second = await poll(list, first.checkpoint, T0 + 600_000, { ascending: true, pairs });
    const all = [...versions(first.emitted), ...versions(second.emitted)];
    assert.equal(new Set(all).size, all.length, 'no version twice');
    for (const item of list.items.values()) assert.ok(all.includes(`${item.id}@${item.lastUpdateDateTime}`), `${item.id} lost`);
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: a server that ignores $orderby is read by offset, nothing lost or repeated`, async () => {
    const list = new FakeList(10);
    list.honoursOrder = false;
    for (let i = 0; i < 45; i++) list.add(`a${i}`, T0 + i * 1000);
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.equal(first.emitted.length, 45);
    assert.equal(new Set(versions(first.emitted)).size, 45);
    assert.equal(first.checkpoint.highWaterMark, fromEpochMs(T0 + 100_000));
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: more than a page changed in one millisecond is paged by offset, then keyset goes on`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 5; i++) list.add(`before${i}`, T0 + i);
    for (let i = 0; i < 25; i++) list.add(`same${String(i).padStart(2, '0')}`, T0 + 1000);
    for (let i = 0; i < 15; i++) list.add(`after${i}`, T0 + 2000 + i);
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.equal(first.emitted.length, 45);
    assert.equal(new Set(versions(first.emitted)).size, 45);
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: killed mid-run, resume loses nothing and repeats at most one page`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 95; i++) list.add(`a${i}`, T0 + i * 100);
    for (let failAfter = 1; failAfter < 10; failAfter++) {
      const killed = await poll(list, undefined, T0 + 20_000, { ascending: true, pairs, failAfterEmits: failAfter, reReadMs: 0 });
      const resumed = await poll(list, killed.checkpoint, T0 + 20_000, { ascending: true, pairs, reReadMs: 0 });
      const all = [...versions(killed.emitted), ...versions(resumed.emitted)];
      assert.equal(new Set(all).size, 95, `kill after page ${failAfter}: something lost`);
      assert.ok(all.length - 95 <= 10, `kill after page ${failAfter}: ${all.length - 95} repeated`);
    }
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: an item without a usable time makes the window fall back to offset, and is emitted once`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 25; i++) list.add(`a${i}`, T0 + i * 1000);
    list.items.set('odd', { id: 'odd', lastUpdateDateTime: 'not a time', createdDateTime: fromEpochMs(T0) });
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.equal(new Set(versions(first.emitted)).size, first.emitted.length);
    assert.equal(first.emitted.filter((i) => i.id !== 'odd').length, 25);
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: items sharing the last time of a page are not skipped by reading after it`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 8; i++) list.add(`a${i}`, T0 + i * 10);
    for (let i = 0; i < 5; i++) list.add(`tie${i}`, T0 + 500); // 2 on the first page, 3 beyond it
    for (let i = 0; i < 12; i++) list.add(`b${i}`, T0 + 1000 + i * 10);
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.equal(first.emitted.length, 25);
    assert.equal(new Set(versions(first.emitted)).size, 25);
    // 2 keyset pages: the second's count shows items left out, so the window is read by offset (3
    // pages). Two pages at once: the pair's second page was asked for too, and is not used.
    assert.equal(list.requests, pairs ? 6 : 5);
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: a server that sorts only what it returns, not the whole set, is caught by the count before the mark moves`, async () => {
    // The reviewer's case: A(1), B(10), C(5), D(20), pages of 2, served by creation order.
    const list = new FakeList(2);
    list.honoursOrder = false;
    const at = { A: 1, B: 10, C: 5, D: 20 };
    for (const [id, s] of Object.entries(at)) list.items.set(id, { id, lastUpdateDateTime: fromEpochMs(T0 + s * 1000), createdDateTime: fromEpochMs(T0 + Object.keys(at).indexOf(id)) });
    // Created order newest first would be D, C, B, A; serve oldest created first so page 1 is [A, B], which looks ordered.
    const query = list.query;
    const ascendingAsCreated: WindowQuery<Item> = async (from, to, after) => query(from, to, after);
    list.ascending = async (from, to, after) => {
      const all = [...list.items.values()]
        .filter((i) => (after ? i.lastUpdateDateTime > from : i.lastUpdateDateTime >= from) && i.lastUpdateDateTime < to)
        .sort((a, b) => (a.createdDateTime < b.createdDateTime ? -1 : 1));
      list.requests++;
      return { items: all.slice(0, 2), count: all.length, next: all.length > 2 ? () => ascendingAsCreated(from, to) : undefined };
    };
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.deepEqual(new Set(first.emitted.map((i) => i.id)), new Set(['A', 'B', 'C', 'D']));
    assert.equal(new Set(versions(first.emitted)).size, first.emitted.length);
  });

  test(`oldest first${pairs ? ', two pages at once' : ''}: a last page holding fewer items than its count is not taken as the end`, async () => {
    const list = new FakeList(10);
    for (let i = 0; i < 15; i++) list.add(`a${i}`, T0 + i * 1000);
    const ascending = list.ascending;
    list.ascending = async (from, to, after) => {
      const page = await ascending(from, to, after);
      // The server drops @odata.nextLink on a full page that is not the last.
      return { ...page, next: undefined };
    };
    const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs });
    assert.equal(new Set(first.emitted.map((i) => i.id)).size, 15);
  });
}

test('oldest first, two pages at once: both requests of a pair are in flight together, still one per page, and the mark follows each pair', async () => {
  const list = new FakeList(100);
  for (let i = 0; i < 2_450; i++) list.add(`a${i}`, T0 + i * 10);
  let inFlight = 0;
  let most = 0;
  const ascending = list.ascending;
  list.ascending = async (...args) => {
    most = Math.max(most, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    try {
      return await ascending(...args);
    } finally {
      inFlight--;
    }
  };
  const marks: string[] = [];
  const result = await collectWindow<Item>({
    query: list.query,
    ascendingQuery: list.ascending,
    pageSize: 100,
    identify: (i) => ({ id: i.id, lastUpdate: i.lastUpdateDateTime }),
    emit: async () => {},
    save: async (c) => void marks.push(c.highWaterMark),
    logger: quiet,
    checkpoint: { version: 1, highWaterMark: fromEpochMs(T0), emitted: [] },
    fromMs: T0,
    toMs: T0 + 60_000,
    reReadWindowMs: 0,
    maxSliceItems: 300,
  });
  assert.equal(result.emitted, 2_450);
  assert.equal(result.skippedDuplicates, 0);
  assert.equal(list.requests, 25, 'one request per page, the last (half) page alone');
  assert.equal(most, 2);
  // Page 0 alone; then pairs: each pair's first count proves the pages before it complete.
  const last = (page: number) => fromEpochMs(T0 + (page * 100 + 99) * 10);
  assert.deepEqual(marks.slice(0, 5), [fromEpochMs(T0), last(0), last(0), last(2), last(2)]);
  assert.equal(marks.at(-1), fromEpochMs(T0 + 60_000));
});

/** A list whose pair pages ($skip > 0) are answered after the first page of their pair, via `second`. */
function withSecondPages(list: FakeList, second: (from: string, to: string, after: boolean | undefined, skip: number) => Promise<Page<Item>>): void {
  const ascending = list.ascending;
  list.ascending = async (from, to, after, skip = 0) => {
    if (!skip) return ascending(from, to, after, skip);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return second(from, to, after, skip);
  };
}

test('oldest first, two pages at once: ties served in another order by the second request are caught, nothing lost', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 10; i++) list.add(`a${i}`, T0 + i);
  for (let i = 0; i < 20; i++) list.add(`tie${String(i).padStart(2, '0')}`, T0 + 1000);
  for (let i = 0; i < 10; i++) list.add(`b${i}`, T0 + 2000 + i);
  // The $skip request sorts the tied items the other way round: it repeats the first page's ten
  // and leaves out the other ten, with the same count.
  withSecondPages(list, async (from, to, after, skip) => {
    const all = [...list.items.values()]
      .filter((i) => (after ? i.lastUpdateDateTime > from : i.lastUpdateDateTime >= from) && i.lastUpdateDateTime < to)
      .sort((a, b) => (a.lastUpdateDateTime === b.lastUpdateDateTime ? (a.id < b.id ? 1 : -1) : a.lastUpdateDateTime < b.lastUpdateDateTime ? -1 : 1));
    list.requests++;
    return { items: all.slice(skip, skip + list.pageSize), count: all.length, next: skip + list.pageSize < all.length ? async () => ({ items: [], count: -1 }) : undefined };
  });
  const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs: true });
  assert.equal(new Set(versions(first.emitted)).size, 40);
  assert.equal(first.emitted.length, 40, 'nothing emitted twice');
});

test('oldest first, two pages at once: an item leaving between the two requests is caught by the count, nothing lost', async () => {
  const list = new FakeList(10);
  for (let i = 0; i < 45; i++) list.add(`a${String(i).padStart(2, '0')}`, T0 + i * 1000);
  let moved = false;
  const ascending = list.ascending;
  withSecondPages(list, async (from, to, after, skip) => {
    // After the pair's first page was served, one of its items changes (leaves the window): every
    // later offset shifts by one, so the second page would start one item late.
    if (!moved) {
      moved = true;
      list.update('a12', T0 + 500_000);
    }
    return ascending(from, to, after, skip);
  });
  const first = await poll(list, undefined, T0 + 100_000, { ascending: true, pairs: true });
  const second = await poll(list, first.checkpoint, T0 + 600_000, { ascending: true, pairs: true });
  const all = [...versions(first.emitted), ...versions(second.emitted)];
  assert.equal(new Set(all).size, all.length, 'no version twice');
  for (const item of list.items.values()) assert.ok(all.includes(`${item.id}@${item.lastUpdateDateTime}`), `${item.id} lost`);
});
