import type { ProxySettings } from '../http/client.js';
import { parseLogLevel, type LogLevel } from '../splunk/log.js';
import type { SplunkRest } from '../splunk/rest.js';
import { proxyUrl } from './rules.js';
import { ConfigError, SECRET_REALM } from './account.js';

export const SETTINGS_CONF = 'defender_xdr_settings';
export const PROXY_SECRET_USER = '__proxy__';

export interface Settings {
  logLevel: LogLevel;
  proxy?: ProxySettings;
  reReadWindowSeconds: number;
  requestTimeoutSeconds: number;
  maxRetries: number;
  /** `[collection] resident`: the polling inputs run in one long-lived process per input type (docs/resident.md). */
  resident: boolean;
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value && Number.isFinite(n) && n >= 0 ? n : fallback;
}

/**
 * Reads defender_xdr_settings.conf ([logging], [proxy], [collection]) in one request, and the
 * proxy password (its own request, as storage/passwords needs its own capability).
 */
export async function loadSettings(rest: SplunkRest): Promise<Settings> {
  const stanzas = await rest.confStanzas(SETTINGS_CONF);
  const [logging, proxy, collection] = [stanzas.get('logging'), stanzas.get('proxy'), stanzas.get('collection')];
  const settings: Settings = {
    logLevel: parseLogLevel(logging?.loglevel),
    reReadWindowSeconds: positive(collection?.reread_window, 300),
    requestTimeoutSeconds: positive(collection?.request_timeout, 60) || 60,
    maxRetries: Math.round(positive(collection?.max_retries, 6)),
    resident: isTrue(collection?.resident),
  };
  if (isTrue(proxy?.proxy_enabled) && proxy?.proxy_url) {
    const problem = proxyUrl(proxy.proxy_url);
    if (problem) throw new ConfigError(`${SETTINGS_CONF}.conf [proxy] proxy_url: ${problem}`);
    const username = proxy.proxy_username || undefined;
    const password = username ? await rest.password(SECRET_REALM, PROXY_SECRET_USER) : undefined;
    settings.proxy = { url: proxy.proxy_url, username, password };
  }
  return settings;
}

export function isTrue(value: string | undefined): boolean {
  return /^(1|true|yes|t|y|on)$/i.test((value ?? '').trim());
}
