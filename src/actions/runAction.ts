import { loadSettings } from '../config/settings.js';
import type { HttpClient } from '../http/client.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../http/retry.js';
import { openAccountSession } from '../microsoft/accountSession.js';
import { GraphClient } from '../microsoft/graph.js';
import { exitWhenDone } from '../splunk/exitCode.js';
import { createLogger, redactSecret, type Logger } from '../splunk/log.js';
import { readStdin } from '../splunk/modinput.js';
import { SplunkRest } from '../splunk/rest.js';
import { parsePayload, type ActionPayload } from './payload.js';
import { RateLimiter } from './rateLimiter.js';
import { parseUpdateRequest } from './request.js';
import { idsOfRow, readIds, type IdList } from './results.js';
import type { Target } from './targets.js';
import { runUpdates, type RunSummary } from './update.js';

/**
 * splunkd stops an action after alert_actions.conf maxtime (5 minutes by default). The run stops
 * starting new updates before that, so it can still log its summary.
 */
export const TIME_BUDGET_MS = 270_000;

/** Fewer and shorter retries than the inputs: a throttled id is reported, the run goes on. */
const ACTION_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 4, maxRetryAfterMs: 60_000 };

export interface ActionIo {
  argv: string[];
  stdin: NodeJS.ReadableStream;
  stderrLine: (line: string) => void;
}

const defaultIo = (): ActionIo => ({
  argv: process.argv.slice(2),
  stdin: process.stdin,
  stderrLine: (line) => process.stderr.write(line + '\n'),
});

/** Runs one alert action the way splunkd starts it (`--execute`, JSON payload on stdin); returns the exit code. */
export async function runAction(target: Target, io: ActionIo = defaultIo()): Promise<number> {
  const started = Date.now();
  let logger: Logger = createLogger({ write: io.stderrLine }, { action: target.action });
  if (io.argv[0] !== '--execute') {
    logger.error(`Unknown mode ${io.argv[0] ?? '(none)'}: splunkd runs alert actions with --execute and the payload on stdin`);
    return 2;
  }
  let payload: ActionPayload;
  try {
    payload = parsePayload(await readStdin(io.stdin));
  } catch (error) {
    logger.error(`Cannot read the payload from splunkd: ${(error as Error).message}`);
    return 1;
  }
  redactSecret(payload.sessionKey);
  logger = logger.child({ search_name: payload.searchName, sid: payload.sid });
  let http: HttpClient | undefined;
  try {
    // Everything the user chose is checked before anything is read from splunkd or sent to Graph.
    const request = parseUpdateRequest(target, payload.configuration);
    const rest = new SplunkRest(payload.serverUri, payload.sessionKey);
    const settings = await loadSettings(rest);
    logger = createLogger({ write: io.stderrLine, level: settings.logLevel }, { action: target.action, search_name: payload.searchName, sid: payload.sid });
    redactSecret(settings.proxy?.password);
    const session = await openAccountSession(rest, request.account, settings, logger, {
      unsupported: (account) =>
        account.cloud === 'china' ? `Account "${account.name}" is in the China cloud (21Vianet), where Microsoft Graph does not offer updating security ${target.kind}s.` : undefined,
      // A wait Graph asks for beyond the cap, or past the run's budget, ends the id as throttled
      // rather than holding the run until splunkd kills it with nothing reported.
      retry: { ...ACTION_RETRY, maxAttempts: Math.min(ACTION_RETRY.maxAttempts, settings.maxRetries + 1), giveUpBeyondMaxRetryAfter: true, deadlineMs: started + TIME_BUDGET_MS },
    });
    const { account, tokens } = session;
    http = session.http;
    const list = await idList(payload, request.idField);
    if (list.rowsWithoutId) {
      logger.warn(`${list.rowsWithoutId} of ${list.rows} results have no ${request.idField} field value; they are skipped`, { id_field: request.idField });
    }
    if (list.ids.length === 0) {
      logger.warn(`No ${target.kind} ids in the results (field ${request.idField}); nothing to update`, { results: list.rows });
      return 0;
    }
    const graph = new GraphClient(http, tokens, account.endpoints.graphUrl, target.permission);
    const summary = await runUpdates(
      { graph, target, request, limiter: new RateLimiter(request.requestsPerMinute), logger, results: list.rows, deadlineMs: started + TIME_BUDGET_MS },
      list.ids,
    );
    const failed = failures(summary);
    const line = `${target.action} finished: ${summary.updated} updated, ${summary.unchanged} unchanged, ${failed} not updated`;
    const { requests, retries, throttled: throttled_responses, waited_ms } = http.stats;
    const fields = { account: account.name, ...summary, requests, retries, throttled_responses, waited_ms, duration_ms: Date.now() - started };
    if (failed) logger.warn(line, fields);
    else logger.info(line, fields);
    return failed ? 1 : 0;
  } catch (error) {
    const err = error as Error;
    logger.error(`${target.action} failed: ${err.message}`, { error: err.name, duration_ms: Date.now() - started, ...(http ? http.stats : {}) });
    return 1;
  } finally {
    await http?.close();
  }
}

/** Ids that did not end as asked: everything but updated and unchanged (the cap is a choice, not a failure). */
function failures(s: RunSummary): number {
  return s.not_found + s.forbidden + s.invalid + s.invalid_id + s.throttled + s.failed + s.skipped;
}

async function idList(payload: ActionPayload, idField: string): Promise<IdList> {
  if (payload.resultsFile) {
    try {
      return await readIds(payload.resultsFile, idField);
    } catch (error) {
      throw new Error(`Cannot read the search results (${payload.resultsFile}): ${(error as Error).message}`);
    }
  }
  // No results file (e.g. sendalert without results): the inline first result is all there is.
  const ids = payload.result ? idsOfRow(payload.result, idField) : [];
  return { rows: payload.result ? 1 : 0, ids, rowsWithoutId: payload.result && ids.length === 0 ? 1 : 0 };
}

/** Runs the action as the process. */
export function main(target: Target): void {
  exitWhenDone(runAction(target));
}

// The Defender for Endpoint response actions share this bundle (bin/lib/actions.js) with the Graph ones.
export { main as mainDeviceAction } from './device/run.js';
export { main as mainSubmitIndicator } from './indicator/run.js';
