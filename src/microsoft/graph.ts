import { parseJson, type HttpClient, type HttpResponse, type RequestOptions } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import type { RateLimiter } from '../http/rateLimiter.js';
import type { TokenProvider } from './auth.js';

/** Graph refused for lack of an application permission; says which one to grant. */
export class PermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermissionError';
  }
}

export interface GraphList<T> {
  value: T[];
  '@odata.count'?: number;
  '@odata.nextLink'?: string;
}

/** What differs between the Microsoft APIs that share this client's OData conventions. */
export interface ApiProfile {
  /** Named in error messages, e.g. "Microsoft Graph". */
  service: string;
  /** The token's resource when it is not the API host itself. */
  resource?: string;
  headers: Record<string, string>;
  /** Client-side budget, for APIs with published call limits. */
  rateLimiter?: RateLimiter;
}

export const GRAPH_PROFILE: ApiProfile = {
  service: 'Microsoft Graph',
  // Without it Graph hides newer enum values (e.g. status awaitingAction) behind unknownFutureValue.
  headers: { prefer: 'include-unknown-enum-members' },
};

/**
 * Authenticated requests to Microsoft Graph (or another OData API of Microsoft's, such as
 * Defender for Endpoint's, through a profile). Reuses the cached token, refreshes it on a 401 (and
 * on a 403 to a token kept from an earlier poll), and only ever follows links on the host it was
 * configured with.
 */
export class GraphClient {
  private readonly origin: string;
  private readonly resource: string;

  constructor(
    private readonly http: HttpClient,
    private readonly tokens: TokenProvider,
    readonly graphUrl: string,
    /** Named in 403 messages, e.g. SecurityAlert.Read.All. */
    private readonly permission: string,
    private readonly profile: ApiProfile = GRAPH_PROFILE,
  ) {
    this.origin = new URL(graphUrl).origin;
    this.resource = profile.resource ?? graphUrl;
  }

  url(path: string, query: Record<string, string | undefined> = {}): string {
    // Built by hand: URLSearchParams would write spaces as '+', which only form decoders read
    // as a space; %20 means a space to every server. `$` stays literal, as OData documents it.
    const pairs = Object.entries(query)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
    return `${this.graphUrl}${path}${pairs.length ? `?${pairs.join('&')}` : ''}`;
  }

  /** Acquires (and caches) the token; the first call of a poll also learns the server's clock. */
  async warmUp(): Promise<void> {
    await this.tokens.token(this.resource);
  }

  async get<T>(url: string, options: Pick<RequestOptions, 'retry'> = {}): Promise<T> {
    return parseJson<T>(url, (await this.getBytes(url, options)).toString('utf8'));
  }

  /** The response body unparsed (callers that reuse parts of it parse it themselves). */
  async getBytes(url: string, options: Pick<RequestOptions, 'retry'> = {}): Promise<Buffer> {
    return (await this.send('GET', url, undefined, options)).bytes;
  }

  /** PATCH with a JSON body; Graph answers with the updated entity. */
  async patch<T>(url: string, body: unknown, options: Pick<RequestOptions, 'retry'> = {}): Promise<T> {
    return parsedBody<T>(url, await this.send('PATCH', url, body, options));
  }

  async post<T>(url: string, body: unknown, options: Pick<RequestOptions, 'retry' | 'timeoutMs' | 'headers'> = {}): Promise<T> {
    return parsedBody<T>(url, await this.send('POST', url, body, options));
  }

  private async send(method: 'GET' | 'PATCH' | 'POST', url: string, body: unknown, options: Pick<RequestOptions, 'retry' | 'timeoutMs' | 'headers'>): Promise<HttpResponse> {
    if (new URL(url).origin !== this.origin) throw new Error(`Refusing to follow a link off ${this.origin}: ${new URL(url).origin}`);
    // Whether the token of the latest call was one kept from an earlier poll (tokenCache.ts).
    let cached = false;
    const call = async (forceRefresh: boolean) => {
      const issued = await this.tokens.issue(this.resource, forceRefresh);
      cached = issued.cached;
      return this.http.send(url, {
        ...options,
        rateLimiter: this.profile.rateLimiter,
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: {
          ...this.profile.headers,
          authorization: `Bearer ${issued.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      });
    };
    const status = (error: unknown) => (error instanceof HttpError ? error.status : undefined);
    // A kept token was issued with the roles of its time: a 403 to it is asked again with a fresh
    // one (a permission granted since), once. A fresh token's 403 is the app's permissions.
    const rejected = (error: unknown) => status(error) === 401 || (cached && status(error) === 403);
    let failure: unknown;
    try {
      return await call(false);
    } catch (error) {
      if (!rejected(error)) throw this.explain(error);
      failure = error;
    }
    // A rejected token is refreshed and the call made again. Twice: with two pages in flight, the
    // event that expired the first token (a refresh, a revocation) can reach the one fetched for
    // the other request too. A third 401 is not a token's age: it is reported.
    for (let refresh = 0; refresh < 2 && rejected(failure); refresh++) {
      this.tokens.noteRejected();
      try {
        return await call(true);
      } catch (retryError) {
        failure = retryError;
      }
    }
    throw this.explain(failure);
  }

  private explain(error: unknown): unknown {
    if (!(error instanceof HttpError)) return error;
    const graphMessage = (error.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const detail = graphMessage ? `${graphMessage.code ?? ''}: ${graphMessage.message ?? ''}`.slice(0, 300) : '';
    if (error.status === 403) {
      return new PermissionError(
        `${this.profile.service} denied access (403${detail ? `, ${detail}` : ''}). Grant the application permission ${this.permission} (type Application, not Delegated) to the app registration and give admin consent.`,
      );
    }
    if (error.status === 401) {
      return new PermissionError(`${this.profile.service} rejected the token (401${detail ? `, ${detail}` : ''}). Check that the account's cloud matches the tenant.`);
    }
    if (detail) error.message = `${error.message}: ${detail}`;
    return error;
  }
}

/** A write's answer: 204 No Content (some PATCH answers) has no body to parse. */
function parsedBody<T>(url: string, response: HttpResponse): T {
  return response.status === 204 ? (undefined as T) : parseJson<T>(url, response.text);
}
