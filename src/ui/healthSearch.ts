/**
 * Runs the health search through Splunk Web's splunkd proxy, like every other call of the page
 * (session cookie, CSRF form key): one oneshot `search/jobs` request over the last 24 hours,
 * bounded in results and, client-side, in time. Only when it finds nothing does a second, cheap
 * search ask whether the user's role may search _internal at all (Splunk silently drops indexes a
 * role may not search, so an empty answer alone cannot tell "never ran" from "not allowed").
 */
import { createFetchInit } from '@splunk/splunk-utils/fetch';
import { createRESTURL } from '@splunk/splunk-utils/url';
import { APP } from './api.js';
import { ACCESS_PROBE, HEALTH_SEARCH, HEALTH_WINDOW, parseHealthRows, type HealthState } from './healthModel.js';

/** The page gives up on a search after this long and says so; the next refresh tries again. */
export const HEALTH_TIMEOUT_MS = 30_000;
/** At most this many rows (one per input). */
const MAX_ROWS = 1000;

interface OneshotAnswer {
  results?: Record<string, string | string[]>[];
  messages?: { type: string; text: string }[];
}

async function oneshot(search: string, signal: AbortSignal): Promise<Record<string, string | string[]>[]> {
  const url = new URL(createRESTURL('search/jobs', { app: APP, owner: 'nobody' }), window.location.origin);
  const body = new URLSearchParams({ search, exec_mode: 'oneshot', earliest_time: HEALTH_WINDOW, latest_time: 'now', count: String(MAX_ROWS), output_mode: 'json' });
  const response = await fetch(url.toString(), { ...createFetchInit({ method: 'POST', body: body.toString() }), signal });
  let answer: OneshotAnswer = {};
  try {
    answer = (await response.json()) as OneshotAnswer;
  } catch {
    // not splunkd's JSON (a proxy's error page)
  }
  if (!response.ok) {
    const text = answer.messages?.find((m) => m.type === 'FATAL' || m.type === 'ERROR')?.text;
    throw new Error(text ?? `Splunk answered HTTP ${response.status}.`);
  }
  return answer.results ?? [];
}

/** One refresh: the health rows, "no access", or why it failed. Never throws. */
export async function readHealth(outer?: AbortSignal): Promise<HealthState> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), HEALTH_TIMEOUT_MS);
  const onOuterAbort = () => controller.abort();
  outer?.addEventListener('abort', onOuterAbort);
  try {
    const rows = parseHealthRows(await oneshot(HEALTH_SEARCH, controller.signal));
    if (rows.size === 0) {
      const indexes = await oneshot(ACCESS_PROBE, controller.signal);
      if (!indexes.some((r) => r.index === '_internal')) return { kind: 'no-access' };
    }
    return { kind: 'ready', rows, atS: Date.now() / 1000 };
  } catch (error) {
    const message = controller.signal.aborted && !outer?.aborted ? `the search did not answer within ${HEALTH_TIMEOUT_MS / 1000} s` : (error as Error).message;
    return { kind: 'failed', message };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}
