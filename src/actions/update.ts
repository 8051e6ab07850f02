import type { RequestOptions } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import { serverRequestedWaitMs } from '../http/retry.js';
import { AuthenticationError } from '../microsoft/auth.js';
import { PermissionError, type GraphClient } from '../microsoft/graph.js';
import type { Logger } from '../splunk/log.js';
import type { RateLimiter } from './rateLimiter.js';
import type { UpdateRequest } from './request.js';
import type { Target } from './targets.js';

/** What happened to one id. */
export type Outcome = 'updated' | 'unchanged' | 'not_found' | 'forbidden' | 'invalid' | 'invalid_id' | 'throttled' | 'failed';

export interface ItemResult {
  id: string;
  outcome: Outcome;
  /** What was changed (or already as asked, for unchanged): status, classification, …, comment, customTags. */
  changed: string[];
  message?: string;
  /** For a throttled id: the wait Graph asked for, when it said. */
  retryAfterMs?: number;
}

/** Graph asking for a longer wait than this stops the run's further calls (they would be throttled too). */
const MAX_RUN_WAIT_MS = 60_000;

/** The parts of an alert or incident the actions read back. */
interface GraphItem {
  id: string;
  status?: string;
  classification?: string;
  determination?: string;
  assignedTo?: string | null;
  customTags?: string[];
  comments?: { comment?: string }[];
}

export const COMMENT_TYPE = 'microsoft.graph.security.alertComment';
const NO_5XX_RETRY: Record<number, number> = { 408: 1, 500: 1, 502: 1, 503: 1, 504: 1 };

/**
 * The PATCH body that brings `current` to what the request asks, or {} when it already is:
 * a repeated run changes nothing, so lastUpdateDateTime does not move and the inputs do not
 * re-ingest an item (and re-trigger the alert that called this action) for nothing.
 */
export function patchBody(current: GraphItem, request: UpdateRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request.fields)) {
    if (value !== undefined && current[key as keyof typeof request.fields] !== value) body[key] = value;
  }
  if (request.addTags.length) {
    const tags = current.customTags ?? [];
    const missing = request.addTags.filter((t) => !tags.includes(t));
    // customTags is replaced as a whole by PATCH: send the existing tags with the new ones.
    if (missing.length) body.customTags = [...tags, ...missing];
  }
  return body;
}

export function hasComment(current: GraphItem, comment: string): boolean {
  return (current.comments ?? []).some((c) => c.comment === comment);
}

/** A failure that no other id can escape (permission, credentials): the run stops. */
export class RunAborted extends Error {
  constructor(
    message: string,
    readonly outcome: 'forbidden' | 'failed',
  ) {
    super(message);
  }
}

export interface UpdateContext {
  graph: GraphClient;
  target: Target;
  request: UpdateRequest;
  limiter: RateLimiter;
  retry?: RequestOptions['retry'];
}

/** Reads the item, then PATCHes what differs and POSTs the comment if it is not there yet. */
export async function updateOne(ctx: UpdateContext, id: string): Promise<ItemResult> {
  const { graph, target, request, limiter } = ctx;
  if (!target.idPattern.test(id)) {
    return { id, outcome: 'invalid_id', changed: [], message: `"${id.slice(0, 80)}" is not ${target.idHint}. Check id_field.` };
  }
  const url = graph.url(`${target.collectionPath}/${encodeURIComponent(id)}`);
  const changed: string[] = [];
  let step = 'read';
  try {
    await limiter.take();
    const current = await graph.get<GraphItem>(url, { retry: ctx.retry });
    const body = patchBody(current, request);
    if (Object.keys(body).length) {
      step = 'update';
      await limiter.take();
      await graph.patch(url, body, { retry: ctx.retry });
      changed.push(...Object.keys(body));
    }
    if (request.comment && !hasComment(current, request.comment)) {
      step = 'comment';
      await limiter.take();
      // A 5xx after a POST may mean the comment was stored anyway: no retry then, so a comment is
      // never doubled (a 429 is still retried, Graph did not process it). The next run adds it if missing.
      await graph.post(`${url}/comments`, { '@odata.type': COMMENT_TYPE, comment: request.comment }, { retry: { ...ctx.retry, maxAttemptsByStatus: NO_5XX_RETRY } });
      changed.push('comment');
    }
    return { id, outcome: changed.length ? 'updated' : 'unchanged', changed };
  } catch (error) {
    return failure(ctx, id, step, changed, error);
  }
}

function failure(ctx: UpdateContext, id: string, step: string, changed: string[], error: unknown): ItemResult {
  const { target } = ctx;
  const done = changed.length ? ` (${changed.join(', ')} already changed)` : '';
  if (error instanceof PermissionError) {
    const readOnly = step !== 'read' ? ` The application can read ${target.kind}s (${target.readPermission}) but not change them.` : '';
    throw new RunAborted(`${error.message}${readOnly}`, 'forbidden');
  }
  if (error instanceof AuthenticationError) throw new RunAborted(error.message, 'failed');
  if (error instanceof HttpError) {
    if (error.status === 404) return { id, outcome: 'not_found', changed, message: `no ${target.kind} with this id in Defender (deleted, from another tenant, or not visible to Graph)${done}` };
    if (error.status === 400) return { id, outcome: 'invalid', changed, message: `Graph rejected the ${step}: ${error.message}${done}` };
    if (error.status === 429) {
      // The retries already waited; this keeps the next id from running straight into the limit.
      const wait = serverRequestedWaitMs({ kind: 'response', status: 429, retryAfter: error.headers['retry-after'], bodyText: error.bodyText }, Date.now());
      ctx.limiter.pause(Math.min(wait ?? 10_000, MAX_RUN_WAIT_MS));
      return { id, outcome: 'throttled', changed, message: `still throttled after retries at the ${step} step${done}; run the alert again later`, retryAfterMs: wait };
    }
  }
  return { id, outcome: 'failed', changed, message: `${step} failed: ${(error as Error).message}${done}` };
}

export interface RunSummary {
  results: number;
  ids: number;
  updated: number;
  unchanged: number;
  not_found: number;
  forbidden: number;
  invalid: number;
  invalid_id: number;
  throttled: number;
  failed: number;
  /** Ids beyond max_updates. */
  skipped_cap: number;
  /** Ids not tried because the run stopped (permission, credentials, time budget). */
  skipped: number;
}

export function emptySummary(results: number, ids: number): RunSummary {
  return { results, ids, updated: 0, unchanged: 0, not_found: 0, forbidden: 0, invalid: 0, invalid_id: 0, throttled: 0, failed: 0, skipped_cap: 0, skipped: 0 };
}

const LEVEL: Record<Outcome, 'info' | 'warn' | 'error'> = {
  updated: 'info', unchanged: 'info', not_found: 'warn', invalid: 'error', invalid_id: 'error', throttled: 'warn', failed: 'error', forbidden: 'error',
};

/**
 * Updates up to max_updates ids one after another, paced by the limiter, logging each outcome.
 * A failure of one id never stops the others; a permission or credential failure stops the run,
 * since every further call would fail the same way.
 */
export async function runUpdates(
  ctx: UpdateContext & { logger: Logger; results: number; deadlineMs: number; now?: () => number },
  ids: string[],
): Promise<RunSummary> {
  const now = ctx.now ?? Date.now;
  const summary = emptySummary(ctx.results, ids.length);
  const noun = ctx.target.kind === 'alert' ? 'Alert' : 'Incident';
  const todo = ids.slice(0, ctx.request.maxUpdates);
  summary.skipped_cap = ids.length - todo.length;
  if (summary.skipped_cap > 0) {
    ctx.logger.warn(`More ${ctx.target.kind}s than max_updates: only the first ${todo.length} are updated`, { max_updates: ctx.request.maxUpdates, skipped_cap: summary.skipped_cap, first_skipped: ids[todo.length] });
  }
  for (const [index, id] of todo.entries()) {
    if (now() > ctx.deadlineMs) {
      summary.skipped += todo.length - index;
      ctx.logger.error(`Time budget used up: ${todo.length - index} ${ctx.target.kind}s not updated; lower max_updates or raise requests_per_minute`, { skipped: todo.length - index, first_skipped: id });
      break;
    }
    let result: ItemResult;
    try {
      result = await updateOne(ctx, id);
    } catch (error) {
      if (!(error instanceof RunAborted)) throw error;
      summary[error.outcome]++;
      summary.skipped += todo.length - index - 1;
      ctx.logger.error(`${noun} not updated, and the run stops: ${error.message}`, { id, outcome: error.outcome, skipped: todo.length - index - 1 });
      break;
    }
    summary[result.outcome]++;
    const message = result.outcome === 'updated' ? `${noun} updated` : result.outcome === 'unchanged' ? `${noun} already as requested` : `${noun} not updated: ${result.message}`;
    ctx.logger[LEVEL[result.outcome]](message, { id, outcome: result.outcome, changed: result.changed.join(',') || undefined });
    const left = todo.length - index - 1;
    if (left > 0 && result.retryAfterMs !== undefined && (result.retryAfterMs > MAX_RUN_WAIT_MS || now() + result.retryAfterMs > ctx.deadlineMs)) {
      // Waiting that long would hold the run until splunkd kills it, with nothing reported.
      summary.throttled += left;
      const waitS = Math.ceil(result.retryAfterMs / 1000);
      const after = new Date(now() + result.retryAfterMs).toISOString();
      ctx.logger.error(`Graph asked to wait ${waitS} s: ${left} ${ctx.target.kind}s not sent; run the alert again after ${after}`, { outcome: 'throttled', not_sent: left, first_not_sent: todo[index + 1], retry_after_s: waitS });
      break;
    }
  }
  return summary;
}
