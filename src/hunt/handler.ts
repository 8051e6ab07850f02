import { createHash } from 'node:crypto';
import { ConfigError, loadAccount, loadSecret } from '../config/account.js';
import { loadSettings } from '../config/settings.js';
import { HttpClient } from '../http/client.js';
import { DEFAULT_RETRY } from '../http/retry.js';
import { TokenProvider } from '../microsoft/auth.js';
import { GraphClient, PermissionError } from '../microsoft/graph.js';
import { HUNTING_PERMISSION, HUNTING_ROW_LIMIT, HuntingClient, HuntingQueryError, HuntingThrottledError, HuntingTimeoutError } from '../microsoft/hunting.js';
import { redactSecret, type Logger } from '../splunk/log.js';
import { SplunkRest } from '../splunk/rest.js';
import type { PersistReply, PersistRequest } from './persistconn.js';

/** The capability restmap.conf requires of the caller (splunkd checks it before the handler runs). */
export const HUNT_CAPABILITY = 'defender_xdr_hunt';
/** An analyst is waiting: a CPU block of up to a minute is waited out, a longer one is reported. */
const MAX_INTERACTIVE_WAIT_MS = 60_000;

function field(request: PersistRequest, name: string): string {
  return (request.form ?? []).find(([k]) => k === name)?.[1]?.trim() ?? '';
}

function reply(status: number, body: unknown): PersistReply {
  return { status, payload: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
}

const error = (status: number, text: string) => reply(status, { messages: [{ type: 'ERROR', text }] });

/**
 * POST defender_xdr/hunt (account, query, timespan, max_rows): runs the hunt with the account's
 * credentials, read with splunkd's system token (passSystemAuth), so the searching user needs
 * only the add-on's capability, never list_storage_passwords. Answers the rows; the secret and the
 * token stay in this process. Every hunt is logged with the user, account, query hash, rows, duration.
 */
export async function handleHunt(request: PersistRequest, logger: Logger): Promise<PersistReply> {
  const started = Date.now();
  const user = request.session?.user ?? 'unknown';
  const account = field(request, 'account');
  const query = field(request, 'query');
  const timespan = field(request, 'timespan') || undefined;
  const maxRows = Math.min(Number(field(request, 'max_rows') || HUNTING_ROW_LIMIT), HUNTING_ROW_LIMIT);
  const audit = { user, account, query_hash: createHash('sha256').update(query).digest('hex').slice(0, 16), timespan };
  if ((request.method ?? 'POST').toUpperCase() !== 'POST') return error(405, 'Use POST.');
  if (!account || !query) return error(400, 'account and query are required.');
  if (!Number.isInteger(maxRows) || maxRows < 1) return error(400, `max_rows must be a whole number from 1 to ${HUNTING_ROW_LIMIT}.`);
  if (!request.system_authtoken) return error(500, 'splunkd passed no system token: restmap.conf must set passSystemAuth = true for this endpoint.');
  redactSecret(request.system_authtoken);
  redactSecret(request.session?.authtoken);
  const rest = new SplunkRest(request.server?.rest_uri ?? 'https://127.0.0.1:8089', request.system_authtoken);
  let http: HttpClient | undefined;
  try {
    const settings = await loadSettings(rest);
    redactSecret(settings.proxy?.password);
    const loaded = await loadAccount(rest, account);
    const secret = await loadSecret(rest, loaded);
    redactSecret(secret);
    http = new HttpClient({ logger, proxy: settings.proxy, caFile: loaded.caFile, timeoutMs: settings.requestTimeoutSeconds * 1000, retry: { ...DEFAULT_RETRY, maxAttempts: settings.maxRetries + 1 } });
    const tokens = new TokenProvider({ ...loaded, secret, loginUrl: loaded.endpoints.loginUrl }, http, logger);
    const client = new HuntingClient(new GraphClient(http, tokens, loaded.endpoints.graphUrl, HUNTING_PERMISSION), { logger, maxWaitMs: MAX_INTERACTIVE_WAIT_MS });
    const result = await client.run(query, timespan);
    const rows = result.results.slice(0, maxRows);
    logger.info('Hunt', { ...audit, outcome: 'success', rows: rows.length, truncated: result.results.length > rows.length, cpu_throttled_ms: client.stats.cpu_throttled_ms, duration_ms: Date.now() - started });
    return reply(200, { schema: result.schema, results: rows, truncated: result.results.length > rows.length });
  } catch (failure) {
    const err = failure as Error;
    logger.warn('Hunt failed', { ...audit, outcome: 'failure', error: err.name, rows: 0, duration_ms: Date.now() - started });
    if (failure instanceof HuntingQueryError) return error(400, `Microsoft refused the query: ${err.message}`);
    if (failure instanceof ConfigError || failure instanceof PermissionError) return error(400, err.message);
    if (failure instanceof HuntingTimeoutError) return error(504, `The hunt timed out at Microsoft: ${err.message} Narrow the time range or the query.`);
    if (failure instanceof HuntingThrottledError) return error(429, err.message);
    return error(502, `The hunt failed: ${err.message}`);
  } finally {
    await http?.close();
  }
}
