/** A final (non-retried or retries exhausted) HTTP failure, with the parsed error body when there is one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: unknown,
    readonly bodyText: string,
    /** Response headers (lower-case names), e.g. retry-after of a final 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status} from ${safeUrl(url)}`);
    this.name = 'HttpError';
  }
}

/** The kind of a failed HTTP status, as counted in the poll summary and logged as `error_kind`. */
export function statusKind(status: number): 'throttled' | 'http_server' | 'http_client' {
  if (status === 429) return 'throttled';
  return status >= 500 ? 'http_server' : 'http_client';
}

/** A network failure (reset, timeout, truncated body, TLS) that outlasted the retries. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly code?: string,
  ) {
    super(`${message} (${safeUrl(url)}).${networkHint(code)}`);
    this.name = 'NetworkError';
  }
}

/** No connection at all: refused, no route, or none within the connect timeout (client.ts). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECT_TIMEOUT']);

/** What an admin can do about a network failure code. */
export function networkHint(code: string | undefined): string {
  if (/CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)/.test(code ?? '')) {
    return ' The server certificate is not trusted: if a TLS-inspecting proxy is in the path, set the account\'s ca_file (or NODE_EXTRA_CA_CERTS) to its CA bundle.';
  }
  if (code === 'EPROXY_AUTH') return ' The proxy refused its credentials: check proxy_username and the proxy password in the add-on\'s settings ([proxy] of defender_xdr_settings.conf).';
  if (code === 'ENOTFOUND') return ' The host name does not resolve: check DNS, the account\'s cloud, or the proxy settings.';
  if (UNREACHABLE.has(code ?? '')) return ' The host cannot be reached: check the firewall and the proxy settings.';
  return '';
}

/** Origin and path only: query strings can carry tokens ($skiptoken, SAS signatures). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
