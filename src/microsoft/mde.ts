import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Account } from '../config/account.js';
import { FileCallLedger } from '../http/callLedger.js';
import type { HttpClient } from '../http/client.js';
import { sharedRateLimiter, type RateLimit } from '../http/rateLimiter.js';
import type { Logger } from '../splunk/log.js';
import type { TokenProvider } from './auth.js';
import { GraphClient } from './graph.js';

/** Published limits of the Defender for Endpoint alerts API, per application and tenant. */
export const MDE_RATE_LIMITS: readonly RateLimit[] = [
  { limit: 100, windowMs: 60_000 },
  { limit: 1500, windowMs: 3_600_000 },
];

/** What an admin grants: the application permission of the WindowsDefenderATP API, not Graph's. */
export const MDE_ALERTS_PERMISSION = 'Alert.Read.All of the WindowsDefenderATP API (API permissions > Add a permission > APIs my organization uses > WindowsDefenderATP)';

/**
 * A client for the Defender for Endpoint API of an account: its region's host, a token for the
 * WindowsDefenderATP resource, and the call budget of the app and tenant, shared in this process
 * and, through a ledger in `ledgerDir` (splunkd's checkpoint_dir), with the other polls and inputs.
 */
export function mdeClient(
  http: HttpClient,
  tokens: TokenProvider,
  account: Account,
  shared: { ledgerDir?: string; logger?: Logger; /** Named on a 403; the alerts permission when absent. */ permission?: string } = {},
): GraphClient {
  const { mdeUrl, mdeResource } = account.endpoints;
  if (!mdeUrl || !mdeResource) throw new Error(`Account "${account.name}" has no Defender for Endpoint API host.`);
  const budget = `${account.tenantId.toLowerCase()}|${account.clientId.toLowerCase()}|mde`;
  const file = shared.ledgerDir ? path.join(shared.ledgerDir, `mde-calls-${createHash('sha256').update(budget).digest('hex').slice(0, 16)}.log`) : undefined;
  const ledger = file
    ? new FileCallLedger(file, (error) => shared.logger?.warn("Cannot share the API call budget with other inputs; counting this process's calls only", { ledger: file, error: error.message }))
    : undefined;
  return new GraphClient(http, tokens, mdeUrl, shared.permission ?? MDE_ALERTS_PERMISSION, {
    service: 'The Defender for Endpoint API',
    resource: mdeResource,
    headers: {},
    rateLimiter: sharedRateLimiter(budget, MDE_RATE_LIMITS, undefined, ledger),
  });
}

/** Why an account cannot use the Defender for Endpoint API, or undefined when it can. */
export function mdeUnsupported(account: Account): string | undefined {
  if (account.endpoints.mdeUrl) return undefined;
  if (account.cloud === 'custom') return `Account "${account.name}" uses cloud = custom without mde_url: set mde_url to the Defender for Endpoint API host.`;
  return `Account "${account.name}" is in the ${account.cloud} cloud, where Microsoft offers no Defender for Endpoint API. Use the defender_xdr_incidents input instead.`;
}
