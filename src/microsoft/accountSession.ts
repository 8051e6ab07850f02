import { ConfigError, loadAccount, loadSecret, type Account } from '../config/account.js';
import type { Settings } from '../config/settings.js';
import { HttpClient } from '../http/client.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../http/retry.js';
import { redactSecret, type Logger } from '../splunk/log.js';
import type { SplunkRest } from '../splunk/rest.js';
import { TokenProvider } from './auth.js';
import { TokenCache } from './tokenCache.js';

/** An Entra account, with the HTTP client and token provider built over its secret. */
export interface AccountSession {
  account: Account;
  http: HttpClient;
  tokens: TokenProvider;
}

export interface AccountSessionOptions {
  /** Says why this account cannot be used here (e.g. an API its cloud does not offer): refused before its secret is read. */
  unsupported?: (account: Account) => string | undefined;
  /** Default: the settings' request timeout. */
  timeoutMs?: number;
  /** Default: the settings' retries over DEFAULT_RETRY. */
  retry?: RetryPolicy;
  /** The HTTP and token lines name the account and tenant (the inputs' lines do). */
  tagLogger?: boolean;
  /**
   * The token cache's folder (tokenCacheDir(env)): tokens are kept there between polls, encrypted
   * (tokenCache.ts). The Graph and Defender for Endpoint inputs only, whose API calls refresh past
   * a rejected kept token (graph.ts); undefined (actions, Test connection, hunting): none kept.
   */
  tokenCache?: string;
}

/**
 * Loads an account and its secret (redacted from every later log line) the way every program of
 * the app does, with the settings' proxy and the account's CA file. The caller closes `http`.
 */
export async function openAccountSession(rest: SplunkRest, name: string, settings: Settings, logger: Logger, options: AccountSessionOptions = {}): Promise<AccountSession> {
  const { account, secret } = await readAccount(rest, name, options);
  return buildAccountSession(account, secret, settings, logger, options);
}

/** The account and its secret (redacted from every later log line), as splunkd holds them now. */
export async function readAccount(rest: SplunkRest, name: string, options: Pick<AccountSessionOptions, 'unsupported'> = {}): Promise<{ account: Account; secret: string }> {
  const account = await loadAccount(rest, name);
  const unsupported = options.unsupported?.(account);
  if (unsupported) throw new ConfigError(unsupported);
  const secret = await loadSecret(rest, account);
  redactSecret(secret);
  return { account, secret };
}

/** The HTTP client and token provider over an account already read (readAccount). */
export function buildAccountSession(account: Account, secret: string, settings: Settings, logger: Logger, options: AccountSessionOptions = {}): AccountSession {
  const log = options.tagLogger ? logger.child({ account: account.name, tenant: account.tenantId }) : logger;
  const http = new HttpClient({
    logger: log,
    proxy: settings.proxy,
    caFile: account.caFile,
    timeoutMs: options.timeoutMs ?? settings.requestTimeoutSeconds * 1000,
    retry: options.retry ?? { ...DEFAULT_RETRY, maxAttempts: settings.maxRetries + 1 },
  });
  const credentials = { ...account, secret, loginUrl: account.endpoints.loginUrl };
  const cache = options.tokenCache ? new TokenCache(options.tokenCache, { account: account.name, ...credentials }, log) : undefined;
  const tokens = new TokenProvider(credentials, http, log, cache);
  return { account, http, tokens };
}
