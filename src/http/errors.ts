/** A final (non-retried or retries exhausted) HTTP failure, with the parsed error body when there is one. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    readonly body: unknown,
    readonly bodyText: string,
  ) {
    super(`HTTP ${status} from ${safeUrl(url)}`);
    this.name = 'HttpError';
  }
}

/** A network failure (reset, timeout, truncated body, TLS) that outlasted the retries. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly code?: string,
  ) {
    super(`${message} (${safeUrl(url)})`);
    this.name = 'NetworkError';
  }
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
