/**
 * Each input's and account's health, read from the add-on's own poll summaries
 * (`ta:defender:xdr:log` in _internal, macro `defender_xdr_log`): the one search the page runs,
 * and the pure rules that turn its rows into a status. No I/O here (healthSearch.ts asks splunkd).
 */

/** How far back the page looks, and how often it asks again while open. */
export const HEALTH_WINDOW = '-24h';
export const HEALTH_REFRESH_S = 60;
/** The poll summary's default when the input's interval is a cron schedule (as the saved alert counts it). */
const DEFAULT_INTERVAL_S = 300;
/** Behind: checkpoint lag above 3 intervals, and never below this. */
const MIN_LAG_THRESHOLD_S = 900;

/**
 * One row per input over the last 24 hours. Every summary line (`outcome=success|failure|skipped`)
 * and every ERROR line counts; `latest(x)` is x of the newest line that has it.
 * - token_time: a poll that got past Entra ID (succeeded, or failed for another reason after
 *   making requests without a token failure).
 */
export const HEALTH_SEARCH = [
  'search `defender_xdr_log` input=* (outcome=* OR log_level=ERROR)',
  'eval run_time=if(isnotnull(outcome), _time, null()), success_time=if(outcome="success", _time, null()), error_time=if(log_level="ERROR", _time, null()), error_text=if(log_level="ERROR", log_message, null()), token_time=if(outcome="success" OR (outcome="failure" AND error_kind!="auth" AND token_failures=0 AND requests>0), _time, null()), auth_time=if(error_kind="auth", _time, null()), auth_text=if(error_kind="auth", log_message, null())',
  'stats max(run_time) as last_run, latest(outcome) as last_outcome, max(success_time) as last_success, sum(emitted) as events, latest(checkpoint_lag_s) as checkpoint_lag_s, latest(throttled) as throttled, latest(waited_ms) as waited_ms, max(error_time) as last_error_time, latest(error_text) as last_error, latest(error_kind) as last_error_kind, latest(account) as account, max(token_time) as last_token, max(auth_time) as last_auth_error_time, latest(auth_text) as last_auth_error by input',
].join(' | ');

/** Asked only when the health search found nothing: can this role search _internal at all? */
export const ACCESS_PROBE = '| eventcount summarize=false index=_internal';

export interface HealthRow {
  input: string;
  lastRun?: number;
  lastOutcome?: string;
  lastSuccess?: number;
  events: number;
  checkpointLagS?: number;
  throttled: number;
  waitedMs: number;
  lastErrorTime?: number;
  lastError?: string;
  lastErrorKind?: string;
  account?: string;
  lastToken?: number;
  lastAuthErrorTime?: number;
  lastAuthError?: string;
}

export type HealthState =
  | { kind: 'loading' }
  | { kind: 'ready'; rows: Map<string, HealthRow>; atS: number }
  | { kind: 'no-access' }
  | { kind: 'failed'; message: string };

type Result = Record<string, string | string[] | undefined>;

function one(result: Result, key: string): string | undefined {
  const v = result[key];
  return Array.isArray(v) ? v[0] : v;
}

function num(result: Result, key: string): number | undefined {
  const v = one(result, key);
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** The oneshot results of HEALTH_SEARCH, by input stanza (`scheme://name`). */
export function parseHealthRows(results: Result[]): Map<string, HealthRow> {
  const rows = new Map<string, HealthRow>();
  for (const r of results) {
    const input = one(r, 'input');
    if (!input) continue;
    rows.set(input, {
      input,
      lastRun: num(r, 'last_run'),
      lastOutcome: one(r, 'last_outcome'),
      lastSuccess: num(r, 'last_success'),
      events: num(r, 'events') ?? 0,
      checkpointLagS: num(r, 'checkpoint_lag_s'),
      throttled: num(r, 'throttled') ?? 0,
      waitedMs: num(r, 'waited_ms') ?? 0,
      lastErrorTime: num(r, 'last_error_time'),
      lastError: one(r, 'last_error'),
      lastErrorKind: one(r, 'last_error_kind'),
      account: one(r, 'account'),
      lastToken: num(r, 'last_token'),
      lastAuthErrorTime: num(r, 'last_auth_error_time'),
      lastAuthError: one(r, 'last_auth_error'),
    });
  }
  return rows;
}

export type Status = 'ok' | 'never' | 'failing' | 'throttled' | 'behind' | 'disabled' | 'unknown';

export const STATUS_LABEL: Record<Status, string> = {
  ok: 'OK',
  never: 'Never ran',
  failing: 'Failing',
  throttled: 'Throttled',
  behind: 'Behind',
  disabled: 'Disabled',
  unknown: 'Unknown',
};

export interface Verdict {
  status: Status;
  /** One sentence: what is wrong or that all is well. */
  summary: string;
  /** The latest ERROR line's text (it names the cause and, from the add-on, the fix). */
  error?: string;
  /** What to do, by the error's kind. */
  fix?: string;
  /** Facts of the last 24 hours: last run, events, checkpoint lag. */
  facts: string[];
}

/** What to do per `error_kind` (src/inputs/errorKind.ts); the message itself says more. */
export const FIX_BY_KIND: Record<string, string> = {
  config: 'Edit the input or its account: the message names the setting.',
  auth: 'Fix the account on the Accounts tab (secret, tenant or client ID); the next poll uses it.',
  permission: 'Grant the app registration the API permission the message names, with admin consent, in Entra ID.',
  throttled: 'Microsoft throttles this app registration: lengthen the interval or stop other tools using the same app.',
  http_server: "Microsoft's API is failing; the next poll retries. Check Microsoft 365 service health if it lasts.",
  http_client: "Microsoft refused the request: check the account's cloud and endpoint URLs.",
  network: 'Check the proxy (Settings tab), DNS and firewall between this Splunk server and Microsoft.',
  splunkd: 'The input could not talk to splunkd: check splunkd is healthy; the next poll retries.',
  filesystem: 'Check free space and permissions of the checkpoint folder ($SPLUNK_HOME/var/lib/splunk/modinputs).',
  output: "splunkd stopped reading the input's events: check splunkd.log around that time.",
  internal: 'Unexpected: open the health dashboard for the full log line and report it.',
};

export function intervalSeconds(interval: string): number {
  const n = Number(interval.trim());
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_INTERVAL_S;
}

export function lagThresholdS(interval: string): number {
  return Math.max(3 * intervalSeconds(interval), MIN_LAG_THRESHOLD_S);
}

/** "42 s", "5 min", "3 h 10 min", "2 d 4 h"; a number and its unit never wrap apart (no-break space). */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86_400 ? `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.floor((s % 3600) / 60)} min` : ''}` : `${Math.floor(s / 86_400)} d${s % 86_400 >= 3600 ? ` ${Math.floor((s % 86_400) / 3600)} h` : ''}`;
  return text.replace(/(\d) /g, '$1\u00a0');
}

export function ago(timeS: number, nowS: number): string {
  return `${duration(nowS - timeS)} ago`;
}

/** The input's status: Disabled, then Never ran, Failing, Throttled, Behind, else OK. */
export function inputVerdict(row: HealthRow | undefined, input: { disabled: boolean; interval: string }, nowS: number): Verdict {
  if (input.disabled) return { status: 'disabled', summary: 'Disabled: not collecting. Enable the input to resume.', facts: row?.lastRun ? [`Last run ${ago(row.lastRun, nowS)}`] : [] };
  if (!row || row.lastRun === undefined) {
    return {
      status: 'never',
      summary: 'No poll in the last 24 hours.',
      fix: 'splunkd runs the input at its interval once it is enabled; if it stays like this, check the add-on on the server that runs the input (splunkd.log, ExecProcessor).',
      facts: row?.lastError ? [`Error ${ago(row.lastErrorTime ?? nowS, nowS)}: ${row.lastError}`] : [],
    };
  }
  const facts = [`Last run ${ago(row.lastRun, nowS)}: ${row.lastOutcome ?? 'unknown'}`, `${row.events.toLocaleString('en-US')} events in 24 h`];
  if (row.checkpointLagS !== undefined) facts.push(`checkpoint\u00a0lag ${duration(row.checkpointLagS)}`);
  if (row.lastOutcome === 'failure') {
    return {
      status: 'failing',
      summary: `The last poll failed${row.lastSuccess ? `; last success ${ago(row.lastSuccess, nowS)}` : '; no success in 24 h'}.`,
      error: row.lastError,
      fix: FIX_BY_KIND[row.lastErrorKind ?? ''] ?? FIX_BY_KIND.internal,
      facts,
    };
  }
  if (row.throttled > 0) {
    return {
      status: 'throttled',
      summary: `Microsoft answered 429 (throttled) ${row.throttled} time${row.throttled === 1 ? '' : 's'} in the last poll${row.waitedMs > 0 ? `; it waited ${duration(row.waitedMs / 1000)}` : ''}.`,
      fix: FIX_BY_KIND.throttled,
      facts,
    };
  }
  const threshold = lagThresholdS(input.interval);
  if (row.checkpointLagS !== undefined && row.checkpointLagS > threshold) {
    return {
      status: 'behind',
      summary: `Checkpoint ${duration(row.checkpointLagS)} behind Microsoft's newest change (threshold ${duration(threshold)}).`,
      fix: 'The input is catching up; if the lag keeps growing, shorten the interval or split the input.',
      facts,
    };
  }
  return { status: 'ok', summary: 'Collecting.', facts };
}

/** An account's token health, from the rows of the inputs that use it. */
export function accountVerdict(rows: HealthRow[], nowS: number): Verdict {
  if (rows.length === 0) return { status: 'never', summary: 'No poll used this account in the last 24 hours.', facts: [] };
  const lastToken = Math.max(...rows.map((r) => r.lastToken ?? -Infinity));
  const failed = rows.filter((r) => r.lastAuthErrorTime !== undefined).sort((a, b) => (b.lastAuthErrorTime ?? 0) - (a.lastAuthErrorTime ?? 0))[0];
  const facts = Number.isFinite(lastToken) ? [`Last token ${ago(lastToken, nowS)}`] : [];
  if (failed && !(lastToken > (failed.lastAuthErrorTime ?? 0))) {
    return {
      status: 'failing',
      summary: `Entra ID refused a token ${ago(failed.lastAuthErrorTime ?? nowS, nowS)}${Number.isFinite(lastToken) ? '' : '; no token in 24 h'}.`,
      error: failed.lastAuthError,
      fix: FIX_BY_KIND.auth,
      facts,
    };
  }
  if (!Number.isFinite(lastToken)) return { status: 'unknown', summary: 'No poll with this account got as far as a token in the last 24 hours.', facts };
  return { status: 'ok', summary: `Token obtained ${ago(lastToken, nowS)}.`, facts: [] };
}
