/**
 * The shape of the access tokens the Entra stand-in issues: JWTs as Entra ID issues them for
 * client credentials (v1.0 access tokens, `header.payload.signature`, base64url), carrying the
 * app's granted **application permissions in the `roles` claim** for the requested resource.
 *
 * The stand-in's APIs accept a token by looking it up among the tokens issued (graph.ts), so the
 * signature is random bytes of RS256's length, not a signature anything could verify (the
 * stand-in's JWKS is empty). Clients must treat a token as opaque except to read its claims.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/**
 * Application permissions of the WindowsDefenderATP API (Microsoft's permission pages of the
 * Defender for Endpoint API). Granted in one flat list per simulated app registration; each
 * token carries the ones of the resource it is for.
 */
export const WDATP_ROLES: ReadonlySet<string> = new Set([
  'Alert.Read.All', 'Alert.ReadWrite.All', 'AdvancedQuery.Read.All', 'File.Read.All', 'Ip.Read.All', 'Url.Read.All', 'User.Read.All',
  'Machine.Read.All', 'Machine.ReadWrite.All', 'Machine.Isolate', 'Machine.Scan', 'Machine.CollectForensics', 'Machine.RestrictExecution',
  'Machine.StopAndQuarantine', 'Machine.Offboard', 'Machine.LiveResponse', 'Library.Manage', 'Ti.ReadWrite', 'Ti.ReadWrite.All',
  'Vulnerability.Read.All', 'Software.Read.All', 'Score.Read.All', 'SecurityRecommendation.Read.All', 'SecurityConfiguration.Read.All',
  'RemediationTasks.Read.All',
]);

/** Roles a token for `audience` carries: WDATP's for its resources, the others for Graph; all for the stand-in's own host (it serves both). */
export function rolesFor(granted: readonly string[], audience: 'wdatp' | 'graph' | 'both' | 'other'): string[] {
  if (audience === 'both') return [...granted];
  if (audience === 'wdatp') return granted.filter((r) => WDATP_ROLES.has(r));
  if (audience === 'graph') return granted.filter((r) => !WDATP_ROLES.has(r) || r === 'User.Read.All');
  return [];
}

export interface TokenClaims {
  resource: string;
  tenantId: string;
  clientId: string;
  roles: string[];
  issuedAtS: number;
  expiresAtS: number;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A v1.0 app-only access token as Entra lays it out (claims per Microsoft's access token reference). */
export function accessTokenJwt(c: TokenClaims): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: 'sim-key-1', kid: 'sim-key-1' };
  const payload: Record<string, unknown> = {
    aud: c.resource,
    iss: `https://sts.windows.net/${c.tenantId}/`,
    iat: c.issuedAtS,
    nbf: c.issuedAtS,
    exp: c.expiresAtS,
    aio: randomBytes(24).toString('base64url'),
    appid: c.clientId,
    appidacr: '1',
    idp: `https://sts.windows.net/${c.tenantId}/`,
    oid: randomUUID(),
    rh: `0.${randomBytes(12).toString('base64url')}.`,
    sub: randomUUID(),
    tid: c.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  // Entra omits the claim when the app holds no role for the resource.
  if (c.roles.length) payload.roles = c.roles;
  return `${b64(header)}.${b64(payload)}.${randomBytes(256).toString('base64url')}`;
}
