/**
 * The page's only way out: splunkd's own REST endpoints through Splunk Web (`/splunkd/__raw`),
 * with the session cookie and the CSRF form key that @splunk/splunk-utils provides.
 */
import { createFetchInit } from '@splunk/splunk-utils/fetch';
import { createRESTURL } from '@splunk/splunk-utils/url';

export const APP = 'TA-defender-xdr';

/** A splunkd refusal, with splunkd's own message (e.g. a validation error). */
export class RestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

export interface Entry {
  name: string;
  content: Record<string, string | boolean | number | null>;
}

interface Feed {
  entry?: Entry[];
  messages?: { type: string; text: string }[];
}

/** Path segments are encoded one by one, so a stanza name with '/' or ':' stays one segment. */
export function endpoint(...segments: string[]): string {
  return segments.map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}

/**
 * @param fields splunkd's `f`: the content keys the answer may hold. Writes to storage/passwords
 *   pass `username`, so splunkd's answer does not carry the clear text back to the browser.
 */
async function call(method: 'GET' | 'POST' | 'DELETE', path: string, form?: Record<string, string>, fields?: string[]): Promise<Entry[]> {
  const url = new URL(createRESTURL(path, { app: APP, owner: 'nobody' }), window.location.origin);
  url.searchParams.set('output_mode', 'json');
  if (method === 'GET') url.searchParams.set('count', '0');
  for (const f of fields ?? []) url.searchParams.append('f', f);
  const init = createFetchInit({ method, body: form ? new URLSearchParams(form).toString() : undefined });
  let response: Response;
  try {
    response = await fetch(url.toString(), init);
  } catch (error) {
    throw new RestError(`Cannot reach Splunk: ${(error as Error).message}`, 0);
  }
  let feed: Feed = {};
  try {
    feed = (await response.json()) as Feed;
  } catch {
    // splunkd always answers JSON with output_mode=json; a proxy's error page does not.
  }
  if (!response.ok) {
    const text = feed.messages?.find((m) => m.type === 'ERROR' || m.type === 'WARN')?.text;
    throw new RestError(text ?? `Splunk answered HTTP ${response.status}.`, response.status);
  }
  return feed.entry ?? [];
}

export const rest = {
  list: (path: string) => call('GET', path),
  create: (path: string, form: Record<string, string>, fields?: string[]) => call('POST', path, form, fields),
  update: (path: string, form: Record<string, string>, fields?: string[]) => call('POST', path, form, fields),
  remove: (path: string, fields?: string[]) => call('DELETE', path, undefined, fields),
};

export function text(entry: Entry, key: string): string {
  const value = entry.content[key];
  return value === null || value === undefined ? '' : String(value);
}

export function isDisabled(entry: Entry): boolean {
  const value = entry.content.disabled;
  return value === true || /^(1|true)$/i.test(String(value ?? ''));
}
