import type { HttpClient } from '../../http/client.js';
import { HttpError } from '../../http/errors.js';
import { RateBudgetExhaustedError } from '../../http/rateLimiter.js';
import { serverRequestedWaitMs } from '../../http/retry.js';
import { AuthenticationError } from '../../microsoft/auth.js';
import { PermissionError } from '../../microsoft/graph.js';
import { errorMessage, MDE_PERMISSIONS, NO_5XX_RETRY } from '../../microsoft/mdeDevices.js';
import { exitWhenDone } from '../../splunk/exitCode.js';
import type { ResultLink } from '../mde/modAction.js';
import { fieldValues, readResultRows } from '../mde/resultRows.js';
import { processIo, runModAction, type ModActionIo, type ModActionStart } from '../mde/entry.js';
import { openMdeSession } from '../mde/session.js';
import { RateLimiter } from '../rateLimiter.js';
import { classify, parseIndicatorRequest, type IndicatorRequest, type IndicatorType } from './request.js';

export const ACTION_NAME = 'defender_submit_indicator';
const TIME_BUDGET_MS = 270_000;
const MAX_ROWS = 10_000;

type Outcome = 'submitted' | 'invalid' | 'refused' | 'forbidden' | 'throttled' | 'failed' | 'skipped' | 'skipped_cap';
const OK: readonly Outcome[] = ['submitted', 'skipped_cap'];
const LEVEL: Record<Outcome, 'info' | 'warn' | 'error'> = { submitted: 'info', invalid: 'error', refused: 'error', forbidden: 'error', throttled: 'warn', failed: 'error', skipped: 'warn', skipped_cap: 'warn' };

interface Item {
  value: string;
  type?: IndicatorType;
  links: ResultLink[];
  outcome?: Outcome;
  message?: string;
  indicatorId?: string;
}

/** Runs defender_submit_indicator as sendmodalert starts it; returns the exit code. */
export async function runSubmitIndicator(io: ModActionIo = processIo()): Promise<number> {
  return runModAction(ACTION_NAME, io, run);
}

async function run({ payload, logger: startLogger, write, base, started, env, audit: auditInto }: ModActionStart): Promise<number> {
  let logger = startLogger;
  const audit = (resultIndex = 'cim_modactions') => auditInto(resultIndex);
  let request: IndicatorRequest;
  try {
    request = parseIndicatorRequest(payload.configuration);
  } catch (error) {
    logger.error((error as Error).message);
    audit().message(`Refused: ${(error as Error).message}`, 'failure', { rid: '0', orig_sid: payload.result?.orig_sid, orig_rid: payload.result?.orig_rid });
    return 1;
  }
  const es = audit(request.resultIndex);
  let http: HttpClient | undefined;
  try {
    const { rows, total } = await readResultRows(payload, MAX_ROWS);
    // Every value is checked before any call: a bad one is refused, the others go ahead.
    const byValue = new Map<string, Item>();
    const refused: Item[] = [];
    for (const row of rows) {
      const link: ResultLink = { rid: row.rid, orig_sid: row.fields.orig_sid || undefined, orig_rid: row.fields.orig_rid || undefined };
      const values = fieldValues(row.fields, request.valueField);
      if (values.length === 0) refused.push({ value: '', links: [link], outcome: 'invalid', message: `no value in the field ${request.valueField}` });
      for (const value of values) {
        const c = classify(value, request.indicatorType);
        if ('problem' in c) {
          refused.push({ value, links: [link], outcome: 'refused', message: c.problem });
          continue;
        }
        const key = `${c.type}|${c.value}`;
        const item = byValue.get(key) ?? { value: c.value, type: c.type, links: [] };
        item.links.push(link);
        byValue.set(key, item);
      }
    }
    const items = [...byValue.values()];
    const session = await openMdeSession(payload, request.account, write, base, env, started + TIME_BUDGET_MS);
    logger = session.logger;
    http = session.http;
    const client = session.client(`${MDE_PERMISSIONS.indicators} (or Ti.ReadWrite.All)`);
    const pace = new RateLimiter(request.requestsPerMinute);
    const expirationTime = request.expirationDays ? new Date(Date.now() + request.expirationDays * 86_400_000).toISOString() : undefined;
    /** Epoch ms before which Defender asked the app not to call (a 429's Retry-After, or the app's own budget). */
    let throttledUntil = 0;
    for (const [index, item] of items.entries()) {
      if (index >= request.maxIndicators) {
        item.outcome = 'skipped_cap';
        item.message = `more indicators than max_indicators (${request.maxIndicators}); not submitted`;
        continue;
      }
      if (throttledUntil > started + TIME_BUDGET_MS) {
        // Defender (or the app's own call budget) asked to wait past this run: nothing more is sent.
        item.outcome = 'throttled';
        item.message = `not sent: Defender throttled the app until ${new Date(throttledUntil).toISOString()}, past this run's time budget; run the action again after that`;
        continue;
      }
      if (Date.now() > started + TIME_BUDGET_MS) {
        item.outcome = 'skipped';
        item.message = 'time budget used up';
        continue;
      }
      try {
        await pace.take();
        // POST /api/indicators is an upsert on type and value: a repeat updates, never duplicates.
        const answer = await client.post<{ id?: string }>(client.url('/api/indicators'), {
          indicatorValue: item.value, indicatorType: item.type, action: request.action, title: request.title, description: request.description,
          severity: request.severity, generateAlert: request.generateAlert, ...(expirationTime ? { expirationTime } : {}),
        }, { retry: NO_5XX_RETRY });
        item.outcome = 'submitted';
        item.indicatorId = answer?.id;
        item.message = `${item.type} indicator ${request.action} submitted (id ${answer?.id ?? 'unknown'}${expirationTime ? `, expires ${expirationTime}` : ''})`;
      } catch (error) {
        if (error instanceof PermissionError || error instanceof AuthenticationError) {
          item.outcome = error instanceof PermissionError ? 'forbidden' : 'failed';
          item.message = error.message;
          for (const rest of items.slice(index + 1)) {
            rest.outcome = 'skipped';
            rest.message = `not tried: the run stopped at ${item.value} (${item.outcome})`;
          }
          break;
        }
        if (error instanceof RateBudgetExhaustedError) {
          throttledUntil = Math.max(throttledUntil, error.untilMs);
          item.outcome = 'throttled';
          item.message = `not sent: the app's Defender for Endpoint call budget (100 a minute, 1,500 an hour, shared with the defender_endpoint_alerts input) has no room until ${new Date(error.untilMs).toISOString()}, past this run's time budget; run the action again after that`;
        } else if (error instanceof HttpError && error.status === 429) {
          const wait = serverRequestedWaitMs({ kind: 'response', status: 429, retryAfter: error.headers['retry-after'], bodyText: error.bodyText }, Date.now()) ?? 10_000;
          throttledUntil = Math.max(throttledUntil, Date.now() + wait);
          pace.pause(Math.min(wait, 60_000));
          item.outcome = 'throttled';
          item.message = `still throttled after retries (Defender asked to wait ${Math.round(wait / 1000)} s); run the action again later`;
        } else if (error instanceof HttpError && error.status === 400) {
          item.outcome = 'invalid';
          item.message = `Defender refused the indicator: ${errorMessage(error)}`;
        } else {
          item.outcome = 'failed';
          item.message = `submission failed: ${errorMessage(error)}`;
        }
      }
    }
    const all = [...refused, ...items];
    const counts: Record<string, number> = {};
    for (const item of all) {
      const outcome = item.outcome ?? 'skipped';
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      logger[LEVEL[outcome]](`Indicator ${outcome}: ${item.message ?? outcome}`, { indicator: item.value || undefined, indicator_type: item.type, outcome, indicator_id: item.indicatorId, results: item.links.length });
      for (const link of item.links) {
        const status = OK.includes(outcome) ? 'success' : 'failure';
        es.message(item.message ?? outcome, status, link, { indicator: item.value, indicator_type: item.type, indicator_action: request.action, outcome, indicator_id: item.indicatorId });
        es.addResult(link, { indicator: item.value, indicator_type: item.type, indicator_action: request.action, outcome, action_status: status, indicator_id: item.indicatorId, message: item.message });
      }
    }
    es.flush();
    for (const problem of es.problems) logger.warn(problem);
    const notDone = all.filter((i) => !OK.includes(i.outcome ?? 'skipped')).length;
    const line = `${ACTION_NAME} finished: ${counts.submitted ?? 0} submitted, ${notDone} not submitted`;
    const fields = { account: session.account.name, results: total, indicators: all.length, ...counts, ...session.http.stats, duration_ms: Date.now() - started };
    if (notDone) logger.warn(line, fields);
    else logger.info(line, fields);
    return notDone ? 1 : 0;
  } catch (error) {
    const err = error as Error;
    logger.error(`${ACTION_NAME} failed: ${err.message}`, { error: err.name, duration_ms: Date.now() - started });
    es.message(`Failed: ${err.message}`, 'failure', { rid: '0' });
    return 1;
  } finally {
    await http?.close();
  }
}

export function main(): void {
  exitWhenDone(runSubmitIndicator());
}
