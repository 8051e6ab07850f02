/**
 * Secrets are write-only: the page never reads storage/passwords (a read would return the clear
 * text). A change rewrites the entry; the entry is `<realm>:<user>:` as splunkd names it.
 */
import { SECRET_REALM } from '../config/account.js';
import { endpoint, rest, RestError } from './api.js';

/** splunkd answers a write (and a delete: the remaining list) with the entries: keep only names. */
const ONLY_NAMES = ['username'];

function entityName(user: string): string {
  const escape = (s: string): string => s.replace(/:/g, '\\:');
  return `${escape(SECRET_REALM)}:${escape(user)}:`;
}

export async function writeSecret(user: string, password: string): Promise<void> {
  try {
    await rest.update(endpoint('storage/passwords', entityName(user)), { password }, ONLY_NAMES);
  } catch (error) {
    if (!(error instanceof RestError) || error.status !== 404) throw error;
    await rest.create('storage/passwords', { name: user, realm: SECRET_REALM, password }, ONLY_NAMES);
  }
}

export async function deleteSecret(user: string): Promise<void> {
  try {
    await rest.remove(endpoint('storage/passwords', entityName(user)), ONLY_NAMES);
  } catch (error) {
    if (!(error instanceof RestError) || error.status !== 404) throw error;
  }
}
