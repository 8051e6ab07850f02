import { canonicalTimestamp, fromEpochMs, parseStartDate, toEpochMs } from '../microsoft/timestamps.js';
import { CheckpointStore } from '../splunk/checkpoint.js';
import { acquireStanzaLock } from '../splunk/stanzaLock.js';
import type { SplunkEvent } from '../splunk/eventWriter.js';
import type { PollContext, PollSummary } from './pollContext.js';
import { collectWindow, isWindowCheckpoint, type WindowCheckpoint, type WindowQuery } from './window.js';

const DEFAULT_LOOKBACK_MS = 7 * 24 * 3600 * 1000;

export interface WindowedSpec<T extends { id: string }> {
  query: WindowQuery<T>;
  /** See WindowOptions.ascendingQuery and pageSize. */
  ascendingQuery?: WindowQuery<T>;
  pageSize?: number;
  /** The item's last-change time (Graph: lastUpdateDateTime; Defender for Endpoint: lastUpdateTime). */
  lastUpdate: (item: T) => string;
  /** Gets the token before the window is fixed, so the server's clock is known (see below; a kept token brings the reading taken with it). */
  warmUp: () => Promise<void>;
  /** Called before warmUp when the window spans more than BACKLOG_LIKELY_MS (e.g. to start the page worker early). */
  backlogLikely?: () => void;
  /** Turns a page's new items into events (may fetch more, e.g. an incident's alerts). */
  toEvents: (items: T[]) => Promise<SplunkEvent[]>;
  maxSliceItems: number;
}

/**
 * A window longer than this (a first run, or an input stopped for a while) is likely to hold a
 * backlog. A steady poll's window is its interval plus the re-read window (6 minutes at
 * interval = 60): it most often finds nothing.
 */
const BACKLOG_LIKELY_MS = 3_600_000;

/** One poll of a Microsoft list: load the checkpoint, read the window, emit page by page, save. */
export async function windowedPoll<T extends { id: string }>(
  ctx: PollContext,
  spec: WindowedSpec<T>,
): Promise<PollSummary> {
  const store = new CheckpointStore<WindowCheckpoint>(ctx.checkpointDir, ctx.stanza, ctx.logger);
  const lock = await acquireStanzaLock(store.file);
  try {
    return await pollWithCheckpoint(ctx, spec, store);
  } finally {
    await lock.release();
  }
}

async function pollWithCheckpoint<T extends { id: string }>(
  ctx: PollContext,
  spec: WindowedSpec<T>,
  store: CheckpointStore<WindowCheckpoint>,
): Promise<PollSummary> {
  const loaded = await store.load(isWindowCheckpoint);
  const reReadWindowMs = 1000 * (ctx.params.reread_window ? Number(ctx.params.reread_window) : ctx.settings.reReadWindowSeconds);
  const startMs = ctx.params.start_date ? parseStartDate(ctx.params.start_date) : ctx.nowMs - DEFAULT_LOOKBACK_MS;
  if (startMs === undefined) throw new Error(`start_date "${ctx.params.start_date}" is not an ISO 8601 date.`);
  const checkpoint: WindowCheckpoint = loaded.state ?? { version: 1, highWaterMark: fromEpochMs(startMs), emitted: [] };
  const fromMs = loaded.state ? toEpochMs(checkpoint.highWaterMark) - reReadWindowMs : startMs;

  // The window must end no later than Microsoft's "now": a forwarder clock running ahead by more
  // than the re-read window would otherwise move the high-water mark past updates not yet made.
  if (ctx.nowMs - fromMs > BACKLOG_LIKELY_MS) spec.backlogLikely?.();
  await spec.warmUp();
  const aheadMs = ctx.http.clockAheadMs();
  if (aheadMs > 60_000) ctx.logger.warn('This host\'s clock runs ahead of Microsoft\'s; using Microsoft\'s time. Fix NTP on this host.', { ahead_ms: aheadMs });
  const toMs = ctx.nowMs - aheadMs;

  const result = await collectWindow<T>({
    query: spec.query,
    ascendingQuery: spec.ascendingQuery,
    pageSize: spec.pageSize,
    identify: (item) => ({ id: item.id, lastUpdate: spec.lastUpdate(item) }),
    emit: async (items) => {
      await ctx.writer.writeEvents(await spec.toEvents(items));
    },
    save: (state) => store.save(notPastServerTime(state, ctx.http.clockAheadMs())),
    logger: ctx.logger,
    checkpoint,
    fromMs,
    toMs,
    reReadWindowMs,
    maxSliceItems: spec.maxSliceItems,
  });
  // This poll's answers say the clock runs further ahead than the window's end assumed: a reading
  // kept with the token from before the clock jumped. The mark was held at Microsoft's time
  // (notPastServerTime); the kept token goes, so that the next poll reads the clock anew.
  if (ctx.http.clockAheadMs() - aheadMs > 2000) {
    ctx.logger.warn('This host\'s clock moved ahead of Microsoft\'s during the poll or since its token was fetched; the next poll fetches a token and uses Microsoft\'s time. Fix NTP on this host.', { ahead_ms: ctx.http.clockAheadMs(), assumed_ahead_ms: aheadMs });
    ctx.tokens.forgetKept();
  }
  return {
    emitted: result.emitted,
    pages: result.pages,
    skipped_duplicates: result.skippedDuplicates,
    repaged: result.repaged,
    high_water_mark: result.highWaterMark,
    // How far behind "now" the checkpoint is once the poll ends (the health dashboard charts it).
    checkpoint_lag_s: Math.max(0, Math.round((Date.now() - toEpochMs(result.highWaterMark)) / 1000)),
    window_from: fromEpochMs(fromMs),
  };
}

/**
 * The mark never goes past Microsoft's "now" as the latest answer tells it. With a token kept from
 * an earlier poll (src/microsoft/tokenCache.ts) the window's end rests on the clock reading taken
 * when that token was fetched, up to ~85 minutes before: should this host's clock have jumped ahead
 * since, the window's end is past Microsoft's time, and a mark moved there would skip what changes
 * in between. 2 s allow for the Date header's resolution.
 */
export function notPastServerTime(state: WindowCheckpoint, aheadMs: number, nowMs = Date.now()): WindowCheckpoint {
  const serverNowMs = nowMs - aheadMs;
  if (toEpochMs(state.highWaterMark) <= serverNowMs + 2000) return state;
  return { ...state, highWaterMark: fromEpochMs(serverNowMs) };
}

/** `_time` of an item: when it last changed, so each state change lands when it happened. */
export function eventTimeMs(lastUpdateDateTime: string, fallbackMs: number = Date.now()): number {
  try {
    const ms = toEpochMs(canonicalTimestamp(lastUpdateDateTime));
    return Number.isFinite(ms) ? ms : fallbackMs;
  } catch {
    // An item without a usable time still gets indexed, stamped with the poll time.
    return fallbackMs;
  }
}
