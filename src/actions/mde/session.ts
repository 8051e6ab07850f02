import type { Account } from '../../config/account.js';
import { loadSettings } from '../../config/settings.js';
import { HttpClient } from '../../http/client.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../../http/retry.js';
import { openAccountSession } from '../../microsoft/accountSession.js';
import type { GraphClient } from '../../microsoft/graph.js';
import { mdeClient, mdeUnsupported } from '../../microsoft/mde.js';
import { actionLedgerDir } from '../../microsoft/mdeBudget.js';
import { OF_WDATP } from '../../microsoft/mdeDevices.js';
import { createLogger, redactSecret, type Logger, type LogFields } from '../../splunk/log.js';
import { SplunkRest } from '../../splunk/rest.js';
import type { ActionPayload } from '../payload.js';

/**
 * Fewer and shorter retries than the inputs: a throttled device is reported, the run goes on. A
 * Retry-After beyond 60 s is not waited for at all (nor retried early): the action reports it.
 */
const ACTION_RETRY: RetryPolicy = { ...DEFAULT_RETRY, maxAttempts: 4, maxRetryAfterMs: 60_000, giveUpBeyondMaxRetryAfter: true };

export interface MdeSession {
  account: Account;
  http: HttpClient;
  logger: Logger;
  /** A Defender for Endpoint client naming `permission` on a 403, on the app's shared call budget. */
  client(permission: string): GraphClient;
}

/**
 * Loads the settings, the account and its secret, as the inputs do, and opens the Defender for
 * Endpoint API on the MDE call budget shared with the defender_endpoint_alerts input (its ledger
 * under $SPLUNK_HOME, when the input has run there).
 */
/** @param deadlineMs no retry wait ends after it (epoch ms): the run must finish within splunkd's maxtime. */
export async function openMdeSession(payload: ActionPayload, accountName: string, write: (line: string) => void, base: LogFields, env: NodeJS.ProcessEnv, deadlineMs?: number): Promise<MdeSession> {
  const rest = new SplunkRest(payload.serverUri, payload.sessionKey);
  const settings = await loadSettings(rest);
  const logger = createLogger({ write, level: settings.logLevel }, base);
  redactSecret(settings.proxy?.password);
  const { account, http, tokens } = await openAccountSession(rest, accountName, settings, logger, {
    unsupported: mdeUnsupported,
    retry: { ...ACTION_RETRY, maxAttempts: Math.min(ACTION_RETRY.maxAttempts, settings.maxRetries + 1), deadlineMs },
  });
  const ledgerDir = actionLedgerDir(env);
  return {
    account,
    http,
    logger,
    client: (permission) => mdeClient(http, tokens, account, { ledgerDir, logger, permission: `${permission} ${OF_WDATP}` }),
  };
}
