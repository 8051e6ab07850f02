import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError, NetworkError } from '../http/errors.js';
import type { Logger } from '../splunk/log.js';
import type { GraphClient } from './graph.js';

/** Advanced hunting through Microsoft Graph (the Defender hunting APIs are being retired). */
export const HUNTING_PATH = '/v1.0/security/runHuntingQuery';
export const HUNTING_PERMISSION = 'ThreatHunting.Read.All';
/** Microsoft's cap on the rows of one query. */
export const HUNTING_ROW_LIMIT = 100_000;
/** Microsoft stops a query after 3 minutes; the client waits a little longer for that answer. */
const CLIENT_TIMEOUT_MS = 200_000;
/**
 * 429s are handled here (their wait is in the body, not always in Retry-After); a timeout is
 * answered by splitting, not by asking again; other 5xx twice more at most (Graph's UnknownError).
 */
const HUNT_RETRY = { maxAttemptsByStatus: { 429: 1, 504: 1, 408: 1, 500: 3, 502: 3, 503: 3 } };
const MAX_THROTTLED_ATTEMPTS = 6;

export interface HuntingColumn {
  name: string;
  type: string;
}

export interface HuntingResult {
  schema: HuntingColumn[];
  results: Record<string, unknown>[];
}

/** Microsoft refused the query itself (a KQL syntax or semantic error): final, shown as Microsoft wrote it. */
export class HuntingQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HuntingQueryError';
  }
}

/** The query ran out of time (3 min) or resources on Microsoft's side: a smaller window may pass. */
export class HuntingTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HuntingTimeoutError';
  }
}

/** Throttled for longer than the caller is willing to wait. */
export class HuntingThrottledError extends Error {
  constructor(message: string, readonly waitMs: number) {
    super(message);
    this.name = 'HuntingThrottledError';
  }
}

export interface HuntingStats {
  hunts: number;
  /** Waited because the tenant's CPU allocation was used up. */
  cpu_throttled_ms: number;
  /** Waited because of the calls-per-minute quota. */
  calls_throttled_ms: number;
}

export interface HuntingClientOptions {
  logger: Logger;
  /** A wait Microsoft asks for beyond this ends the call with HuntingThrottledError. */
  maxWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const CPU_MESSAGE = /exceeded processing resources allocated to this tenant/i;
const TIMEOUT_MESSAGE = /exceeded the timeout period|exceeded the allowed limits|result size limit exceeded|excessive resource/i;

/** POSTs KQL to runHuntingQuery; waits out 429s as Microsoft asks and sorts the failures that matter. */
export class HuntingClient {
  readonly stats: HuntingStats = { hunts: 0, cpu_throttled_ms: 0, calls_throttled_ms: 0 };
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly graph: GraphClient, private readonly options: HuntingClientOptions) {
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
    this.now = options.now ?? Date.now;
  }

  /** @param timespan ISO 8601 interval (`start/end`), sent as Graph's Timespan. */
  async run(query: string, timespan?: string): Promise<HuntingResult> {
    const url = this.graph.url(HUNTING_PATH);
    const body = timespan ? { Query: query, Timespan: timespan } : { Query: query };
    for (let attempt = 1; ; attempt++) {
      this.stats.hunts++;
      try {
        // Microsoft asks for charset=utf-8 so a query with non-ASCII text (file names, subjects) arrives intact.
        const answer = await this.graph.post<{ schema?: unknown; results?: unknown }>(url, body, {
          retry: HUNT_RETRY,
          timeoutMs: CLIENT_TIMEOUT_MS,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        });
        return normaliseResult(answer);
      } catch (error) {
        if (error instanceof NetworkError && /TIMEOUT|TimeoutError|AbortError/i.test(`${error.code} ${error.message}`)) {
          throw new HuntingTimeoutError(`The hunting query got no answer within ${CLIENT_TIMEOUT_MS / 1000} s.`);
        }
        if (!(error instanceof HttpError)) throw error;
        const message = graphMessage(error);
        if (error.status === 429) {
          const cpu = CPU_MESSAGE.test(message);
          const waitMs = throttleWaitMs(error.headers['retry-after'], message, this.now());
          const what = cpu ? 'the tenant\'s advanced-hunting CPU allocation is used up' : 'too many hunting calls';
          if (waitMs > this.options.maxWaitMs || attempt >= MAX_THROTTLED_ATTEMPTS) {
            throw new HuntingThrottledError(`Microsoft throttled the hunt (${what}): ${message || 'HTTP 429'}`, waitMs);
          }
          this.options.logger.warn('Hunting query throttled, waiting as Microsoft asks', { reason: cpu ? 'cpu' : 'calls', wait_ms: waitMs, attempt });
          if (cpu) this.stats.cpu_throttled_ms += waitMs;
          else this.stats.calls_throttled_ms += waitMs;
          await this.sleep(waitMs);
          continue;
        }
        if (error.status === 504 || error.status === 408 || TIMEOUT_MESSAGE.test(message)) {
          throw new HuntingTimeoutError(message || `HTTP ${error.status}: the hunting query timed out.`);
        }
        if (error.status === 400) throw new HuntingQueryError(message || 'Microsoft Graph refused the query (400) without a message.');
        throw error;
      }
    }
  }
}

/** Microsoft's own error text from a Graph error body. */
function graphMessage(error: HttpError): string {
  const body = error.body as { error?: { message?: unknown } } | undefined;
  return typeof body?.error?.message === 'string' ? body.error.message : '';
}

/**
 * How long a 429 asks to wait: Retry-After (seconds or a date); else the CPU message's "You can
 * run queries again in <duration>" (hh:mm:ss, or N seconds/minutes); else until the next quarter
 * hour, when Microsoft's CPU cycle restarts. At least one second.
 */
export function throttleWaitMs(retryAfter: string | undefined, message: string, nowMs: number): number {
  const header = retryAfter?.trim();
  if (header) {
    if (/^\d+(\.\d+)?$/.test(header)) return Math.max(1000, Math.round(Number(header) * 1000));
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(1000, date - nowMs);
  }
  const again = /again in\s+(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})/i.exec(message);
  if (again) return Math.max(1000, (((Number(again[1] ?? 0) * 24 + Number(again[2])) * 60 + Number(again[3])) * 60 + Number(again[4])) * 1000);
  const words = /again in\s+(\d+(?:\.\d+)?)\s*(second|minute|hour)s?/i.exec(message);
  if (words) return Math.max(1000, Math.round(Number(words[1]) * { second: 1000, minute: 60_000, hour: 3_600_000 }[words[2]!.toLowerCase() as 'second'] ));
  const quarter = 15 * 60_000;
  return Math.max(1000, quarter - (nowMs % quarter));
}

/** `schema` entries come as `{name, type}` in the docs and `{Name, Type}` in their examples and live: both are read. */
export function normaliseResult(answer: { schema?: unknown; results?: unknown }): HuntingResult {
  const schema = Array.isArray(answer.schema)
    ? answer.schema.map((c: Record<string, unknown>) => ({ name: String(c.Name ?? c.name ?? ''), type: String(c.Type ?? c.type ?? '') }))
    : [];
  const results = Array.isArray(answer.results) ? (answer.results as Record<string, unknown>[]) : [];
  return { schema, results };
}
