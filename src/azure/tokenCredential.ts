import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { TokenProvider } from '../microsoft/auth.js';

/**
 * An Azure SDK TokenCredential over the account's TokenProvider (msal client credentials through
 * our HTTP client), so Event Hubs and Blob storage can use the account's Entra app. The SDKs ask
 * for scopes like `https://eventhubs.azure.net/.default` and need the expiry to schedule renewal:
 * it is read from the token's own `exp` claim.
 */
export function tokenCredential(tokens: TokenProvider): TokenCredential {
  return {
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? '';
      const token = await tokens.token(scope.replace(/\/\.default$/, ''));
      return { token, expiresOnTimestamp: expiryOf(token) };
    },
  };
}

/** Epoch ms of a JWT's `exp`; five minutes from now when the token is not a readable JWT. */
export function expiryOf(token: string, nowMs = Date.now()): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    if (typeof payload.exp === 'number' && Number.isFinite(payload.exp)) return payload.exp * 1000;
  } catch {
    // not a JWT
  }
  return nowMs + 5 * 60_000;
}
