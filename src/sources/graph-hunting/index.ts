import { createHash } from 'node:crypto';
import { ConfigError } from '../../config/account.js';
import { GraphClient } from '../../microsoft/graph.js';
import { HUNTING_PERMISSION, HUNTING_ROW_LIMIT, HuntingClient, HuntingThrottledError, HuntingTimeoutError, type HuntingResult } from '../../microsoft/hunting.js';
import { fromEpochMs, parseStartDate } from '../../microsoft/timestamps.js';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { SplunkEvent } from '../../splunk/eventWriter.js';
import { acquireStanzaLock } from '../../splunk/stanzaLock.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { INGESTION_COLUMN, leadingTable, queryHash, windowedQuery, windowTimespan, type IngestionWindow } from './query.js';

export const HUNTING_SOURCETYPE = 'ms:defender:hunting';
const DAY_MS = 86_400_000;
/** Microsoft keeps 30 days of hunting data. */
const RETENTION_MS = 30 * DAY_MS;
const DEFAULTS = { latenessS: 14_400, lagS: 300, backfillMs: DAY_MS };
/** A window that still hits the row cap at this width cannot be split further. */
const MIN_ROW_SPLIT_MS = 1000;
/** A timeout over less ingestion time than this is the query's cost, not the window's: splitting cannot help. */
const MIN_TIMEOUT_SPLIT_MS = 60_000;
/** A CPU block lasts until the next 15-minute cycle: wait that long at most within a run. */
const MAX_THROTTLE_WAIT_MS = 16 * 60_000;

/**
 * What a run needs from the last: the ingestion time reached, and the rows emitted within the
 * re-read window before it (hash -> [times emitted, ingestion ms]), dropped when read again.
 */
export interface HuntingCheckpoint {
  version: 1;
  query_hash: string;
  ingested_to: string;
  seen: Record<string, [number, number]>;
}

function isHuntingCheckpoint(value: unknown): value is HuntingCheckpoint {
  const v = value as HuntingCheckpoint;
  return typeof v === 'object' && v !== null && v.version === 1 && typeof v.query_hash === 'string' && typeof v.ingested_to === 'string' && typeof v.seen === 'object' && v.seen !== null;
}

interface HuntSettings {
  query: string;
  table: string;
  timeColumn: string;
  latenessMs: number;
  lagMs: number;
  rowLimit: number;
  overlapMs: number;
}

function settingsOf(ctx: PollContext): HuntSettings {
  const query = (ctx.params.query ?? '').trim();
  const table = leadingTable(query);
  if (!table) throw new ConfigError('Query (query): it must start with a table name so the input can apply its time window at table level.');
  const number = (name: string, fallback: number) => (ctx.params[name]?.trim() ? Number(ctx.params[name]) : fallback);
  return {
    query,
    table,
    timeColumn: ctx.params.time_column?.trim() || 'Timestamp',
    latenessMs: number('max_lateness', DEFAULTS.latenessS) * 1000,
    lagMs: number('ingestion_lag', DEFAULTS.lagS) * 1000,
    rowLimit: Math.min(number('row_limit', HUNTING_ROW_LIMIT), HUNTING_ROW_LIMIT),
    overlapMs: 1000 * number('reread_window', ctx.settings.reReadWindowSeconds),
  };
}

/**
 * One run of a scheduled hunt. The window is ingestion time, (checkpoint - re-read window,
 * now - lag]: every row is ingested once, so each lands in one window; rows read again in the
 * overlap are dropped by their hash. Only rows whose Timestamp is within max_lateness before the
 * window are read, which bounds what each run costs Microsoft's CPU.
 */
export async function pollHunting(ctx: PollContext): Promise<PollSummary> {
  const settings = settingsOf(ctx);
  const store = new CheckpointStore<HuntingCheckpoint>(ctx.checkpointDir, ctx.stanza, ctx.logger);
  const lock = await acquireStanzaLock(store.file);
  try {
    return await huntWithCheckpoint(ctx, settings, store);
  } finally {
    await lock.release();
  }
}

async function huntWithCheckpoint(ctx: PollContext, s: HuntSettings, store: CheckpointStore<HuntingCheckpoint>): Promise<PollSummary> {
  const hash = queryHash(s.query);
  const loaded = (await store.load(isHuntingCheckpoint)).state;
  const current = loaded?.query_hash === hash ? loaded : undefined;
  if (loaded && !current) ctx.logger.info('The query changed since the last run; collecting again from start_date', { previous_query_hash: loaded.query_hash, query_hash: hash });
  const startMs = ctx.params.start_date?.trim() ? parseStartDate(ctx.params.start_date) : ctx.nowMs - DEFAULTS.backfillMs;
  if (startMs === undefined) throw new ConfigError(`start_date "${ctx.params.start_date}" is not an ISO 8601 date.`);
  const oldest = ctx.nowMs - RETENTION_MS + s.latenessMs;
  let afterMs = current ? Date.parse(current.ingested_to) - s.overlapMs : startMs;
  if (afterMs < oldest) {
    ctx.logger.warn('The window starts further back than Microsoft keeps hunting data (30 days); starting at the oldest data', { requested_from: fromEpochMs(afterMs) });
    afterMs = oldest;
  }
  const endMs = ctx.nowMs - s.lagMs;
  const seen = new Map(Object.entries(current?.seen ?? {}));
  const graph = new GraphClient(ctx.http, ctx.tokens, ctx.account.endpoints.graphUrl, HUNTING_PERMISSION);
  const client = new HuntingClient(graph, { logger: ctx.logger, maxWaitMs: MAX_THROTTLE_WAIT_MS });
  const summary = { emitted: 0, pages: 0, skipped_duplicates: 0, repaged: 0, splits: 0, high_water_mark: current?.ingested_to ?? fromEpochMs(startMs) };
  const finish = (extra: Record<string, string | number> = {}): PollSummary => ({
    ...summary,
    ...client.stats,
    query_hash: hash,
    table: s.table,
    checkpoint_lag_s: Math.max(0, Math.round((Date.now() - Date.parse(summary.high_water_mark)) / 1000)),
    ...extra,
  });
  if (endMs <= afterMs + (current ? s.overlapMs : 0)) return finish();

  // Oldest ingestion first, each window saved once its rows are written.
  const pending: [number, number][] = [[afterMs, endMs]];
  while (pending.length) {
    const [after, to] = pending.shift()!;
    const window: IngestionWindow = { afterMs: after, toMs: to, timestampFloorMs: after - s.latenessMs };
    let result: HuntingResult;
    try {
      result = await client.run(windowedQuery(s.query, s.table, window), windowTimespan(window, ctx.nowMs));
    } catch (error) {
      if (error instanceof HuntingThrottledError) {
        ctx.logger.warn(`${error.message}; the next run continues from the checkpoint`, { wait_ms: error.waitMs });
        return finish({ stopped: 'throttled' });
      }
      if (!(error instanceof HuntingTimeoutError)) throw error;
      if (to - after < MIN_TIMEOUT_SPLIT_MS) {
        throw new Error(`The hunting query timed out even over ${Math.round((to - after) / 1000)} s of data (${error.message}). Make the query cheaper (filter early, fewer columns).`);
      }
      ctx.logger.info('Hunting query timed out; splitting its window', { window_from: fromEpochMs(after), window_to: fromEpochMs(to) });
      pending.unshift(...halves(after, to));
      summary.splits++;
      continue;
    }
    summary.pages++;
    if (result.results.length >= s.rowLimit) {
      if (to - after <= MIN_ROW_SPLIT_MS) {
        throw new Error(`More than ${s.rowLimit} rows were ingested within ${to - after} ms (${fromEpochMs(to)}); the query cannot be split further. Narrow the query.`);
      }
      ctx.logger.info('Hunting query returned the row cap; splitting its window', { rows: result.results.length, window_from: fromEpochMs(after), window_to: fromEpochMs(to) });
      pending.unshift(...halves(after, to));
      summary.splits++;
      continue;
    }
    const { events, skipped } = newRows(result, seen, s, to, ctx);
    await ctx.writer.writeEvents(events);
    summary.emitted += events.length;
    summary.skipped_duplicates += skipped;
    for (const [key, [, ingested]] of seen) if (ingested <= to - s.overlapMs) seen.delete(key);
    summary.high_water_mark = fromEpochMs(to);
    await store.save({ version: 1, query_hash: hash, ingested_to: summary.high_water_mark, seen: Object.fromEntries(seen) });
  }
  return finish();
}

function halves(after: number, to: number): [number, number][] {
  const middle = after + Math.floor((to - after) / 2);
  return [[after, middle], [middle, to]];
}

/** The window's rows less those emitted before (same hash, as many times as seen); records what it emits. */
function newRows(result: HuntingResult, seen: Map<string, [number, number]>, s: HuntSettings, windowTo: number, ctx: PollContext): { events: SplunkEvent[]; skipped: number } {
  const inWindow = new Map<string, number>();
  const events: SplunkEvent[] = [];
  let skipped = 0;
  for (const row of result.results) {
    const data = JSON.stringify(row);
    const key = createHash('sha256').update(data).digest('base64url').slice(0, 22);
    const count = (inWindow.get(key) ?? 0) + 1;
    inWindow.set(key, count);
    const before = seen.get(key);
    if (before && count <= before[0]) {
      skipped++;
      continue;
    }
    const ingested = timeOf(row[INGESTION_COLUMN]) ?? windowTo;
    seen.set(key, [count, ingested]);
    events.push({
      timeMs: timeOf(row[s.timeColumn]) ?? timeOf(row[INGESTION_COLUMN]) ?? ctx.nowMs,
      data,
      sourcetype: HUNTING_SOURCETYPE,
      source: s.table,
      index: ctx.params.index || undefined,
    });
  }
  return { events, skipped };
}

function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/(\.\d{3})\d+Z$/, '$1Z'));
  return Number.isFinite(ms) ? ms : undefined;
}
