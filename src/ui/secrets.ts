/**
 * Secrets are write-only: the page never reads storage/passwords (a read would return the clear
 * text). A change rewrites the entry; the entry is `<realm>:<user>:` as splunkd names it.
 */
import { SECRET_REALM } from '../config/account.js';
import { secretName } from '../splunk/secretName.js';
import { endpoint, rest, RestError } from './api.js';

/** splunkd answers a write (and a delete: the remaining list) with the entries: keep only names. */
const ONLY_NAMES = ['username'];

export async function writeSecret(user: string, password: string): Promise<void> {
  try {
    await rest.update(endpoint('storage/passwords', secretName(SECRET_REALM, user)), { password }, ONLY_NAMES);
  } catch (error) {
    if (!(error instanceof RestError) || error.status !== 404) throw error;
    await rest.create('storage/passwords', { name: user, realm: SECRET_REALM, password }, ONLY_NAMES);
  }
}

export async function deleteSecret(user: string): Promise<void> {
  try {
    await rest.remove(endpoint('storage/passwords', secretName(SECRET_REALM, user)), ONLY_NAMES);
  } catch (error) {
    if (!(error instanceof RestError) || error.status !== 404) throw error;
  }
}
