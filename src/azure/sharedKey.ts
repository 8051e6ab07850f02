import { createHmac } from 'node:crypto';

/**
 * Shared Key authorization of a Blob service request, as Microsoft's "Authorize with Shared Key"
 * specifies it (versions 2009-09-19 and later):
 *
 *   VERB \n Content-Encoding \n Content-Language \n Content-Length (empty when 0) \n Content-MD5 \n
 *   Content-Type \n Date \n If-Modified-Since \n If-Match \n If-None-Match \n If-Unmodified-Since \n
 *   Range \n CanonicalizedHeaders CanonicalizedResource
 *
 * signed with HMAC-SHA256 under the base64-decoded account key. The date travels as x-ms-date, so
 * the Date line stays empty.
 */

const STANDARD_HEADERS = [
  'content-encoding',
  'content-language',
  'content-length',
  'content-md5',
  'content-type',
  'date',
  'if-modified-since',
  'if-match',
  'if-none-match',
  'if-unmodified-since',
  'range',
] as const;

/** The x-ms-* headers, names lower-cased and sorted, each `name:value\n` (value trimmed, inner runs of whitespace made one space). */
export function canonicalizedHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => [name.toLowerCase().trim(), value] as const)
    .filter(([name]) => name.startsWith('x-ms-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value.trim().replace(/\s+/g, ' ')}\n`)
    .join('');
}

/**
 * `/<account><encoded path>`, then each query parameter on its own line as `\nname:value`: names
 * lower-cased and sorted, values URL-decoded (several values of one name sorted and joined by
 * commas). A path-style URL (the emulator: `https://host/<account>/<container>`) keeps the account
 * in its path, so the account appears twice, as the Azure SDK signs it.
 */
export function canonicalizedResource(account: string, url: URL): string {
  let resource = `/${account}${url.pathname || '/'}`;
  const params = new Map<string, string[]>();
  for (const pair of url.search.slice(1).split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    // decodeURIComponent, not URLSearchParams: '+' is a plus here (a marker's base64), not a space.
    const name = decodeURIComponent(at < 0 ? pair : pair.slice(0, at)).toLowerCase();
    const value = at < 0 ? '' : decodeURIComponent(pair.slice(at + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  for (const name of [...params.keys()].sort()) resource += `\n${name}:${params.get(name)!.sort().join(',')}`;
  return resource;
}

export function stringToSign(method: string, url: URL, headers: Record<string, string>, account: string): string {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const standard = STANDARD_HEADERS.map((name) => {
    const value = lower.get(name) ?? '';
    return name === 'content-length' && value === '0' ? '' : value;
  });
  return `${method.toUpperCase()}\n${standard.join('\n')}\n${canonicalizedHeaders(headers)}${canonicalizedResource(account, url)}`;
}

/** The Authorization header's value: `SharedKey <account>:<base64 HMAC-SHA256 of the string to sign>`. */
export function sharedKeyAuthorization(account: string, key: Buffer, method: string, url: URL, headers: Record<string, string>): string {
  const signature = createHmac('sha256', key).update(stringToSign(method, url, headers, account), 'utf8').digest('base64');
  return `SharedKey ${account}:${signature}`;
}
