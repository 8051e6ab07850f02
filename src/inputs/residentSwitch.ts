import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `[collection] resident` of defender_xdr_settings.conf as the app's files hold it (local over
 * default), for `--scheme`: splunkd asks for the scheme at start-up, without a session to read
 * settings through REST, and runs the scheme single-instance when it says so (docs/resident.md).
 */
export function residentOnDisk(appDir: string): boolean {
  let value: string | undefined;
  for (const layer of ['default', 'local']) {
    const found = settingIn(path.join(appDir, layer, 'defender_xdr_settings.conf'), 'collection', 'resident');
    if (found !== undefined) value = found;
  }
  // The words settings.ts's isTrue takes; not imported, so that every input's --scheme bundle stays
  // free of the settings module and what it pulls in.
  return /^(1|true|yes|t|y|on)$/i.test(value ?? '');
}

/** A key of a stanza in a .conf file, or undefined (no file, stanza or key). */
function settingIn(file: string, stanza: string, key: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let inStanza = false;
  let value: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('[')) inStanza = line === `[${stanza}]`;
    else if (inStanza && !line.startsWith('#')) {
      const match = /^([^=\s]+)\s*=\s*(.*)$/.exec(line);
      if (match?.[1] === key) value = match[2]!.trim();
    }
  }
  return value;
}
