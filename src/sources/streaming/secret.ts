import { ConfigError, SECRET_REALM } from '../../config/account.js';
import { redactSecret } from '../../splunk/log.js';
import type { SplunkRest } from '../../splunk/rest.js';

/**
 * A streaming input's own secret (storage account key, SAS token, connection string) lives in
 * storage/passwords, realm TA-defender-xdr, user = the input's full stanza name
 * (`defender_xdr_streaming_blob://<name>`), so it never appears in inputs.conf and cannot clash
 * with an account's secret.
 */
export async function loadInputSecret(rest: SplunkRest, stanza: string, what: string): Promise<string> {
  const secret = (await rest.password(SECRET_REALM, stanza))?.trim();
  if (!secret) {
    throw new ConfigError(`No ${what} is stored for input "${stanza}" (storage/passwords realm ${SECRET_REALM}, user ${stanza}). Store it there, e.g. with the add-on's configuration page or the storage/passwords REST endpoint.`);
  }
  registerSecret(secret);
  return secret;
}

/** Masks the secret and the parts of it an SDK may echo (a SAS signature, an AccountKey, a SharedAccessKey). */
export function registerSecret(secret: string): void {
  redactSecret(secret);
  redactSecret(secret.replace(/^\?/, ''));
  for (const match of secret.matchAll(/(?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=([^;&]+)/gi)) {
    redactSecret(match[1]);
    try {
      const decoded = decodeURIComponent(match[1]);
      redactSecret(decoded);
      redactSecret(encodeURIComponent(decoded));
    } catch {
      // not URL-encoded
    }
  }
}
