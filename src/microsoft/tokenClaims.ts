/**
 * The application permissions an app-only access token carries: Entra ID puts them in the
 * token's `roles` claim for the resource the token is for. Read only to tell an admin what is
 * granted; the token is never validated, logged or shown here (the API it is for validates it).
 */

/**
 * The `roles` of a JWT access token; `[]` for a JWT without the claim (Entra omits it when the
 * app holds no role for the resource); undefined when the token is not a readable JWT (opaque,
 * or encrypted: five parts), so the caller says it could not read them rather than guess.
 */
export function tokenRoles(token: string): string[] | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const roles = (payload as { roles?: unknown }).roles;
  if (roles === undefined) return [];
  if (!Array.isArray(roles)) return undefined;
  return roles.filter((r): r is string => typeof r === 'string');
}
