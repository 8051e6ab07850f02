import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Logger } from '../splunk/log.js';
import { HttpError, NetworkError, safeUrl, statusKind } from './errors.js';
import type { RateLimiter } from './rateLimiter.js';
import { DEFAULT_RETRY, retryDelayMs, type AttemptOutcome, type RetryPolicy } from './retry.js';
import { bodies, POOLED_MIN_BYTES } from './bodyPool.js';
import { Agent, ProxyAgent, request } from './undiciParts.js';

export interface ProxySettings {
  /** http(s)://host:port */
  url: string;
  username?: string;
  password?: string;
}

export interface HttpClientOptions {
  logger: Logger;
  proxy?: ProxySettings;
  /** Path of an extra PEM CA bundle (TLS-inspecting proxies), trusted on top of the public CAs. */
  caFile?: string;
  /** Per attempt: connect + headers + body. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  userAgent?: string;
  /** Injected in tests to observe waits without spending them. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH';
  headers?: Record<string, string>;
  body?: string;
  /** Overrides the client's policy for this call (e.g. fewer tries for a request with a fallback). */
  retry?: Partial<RetryPolicy>;
  /** Every attempt, retries included, first takes a slot of this budget. */
  rateLimiter?: RateLimiter;
  /** Overrides the client's per-attempt timeout (a hunting query may run 3 minutes). */
  timeoutMs?: number;
  /** Headers made anew for each attempt, retries included: a Shared Key signature covers the attempt's own x-ms-date. */
  headersForAttempt?: () => Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as received; large list pages are scanned as bytes, never decoded whole. */
  bytes: Buffer;
  /** The body decoded as UTF-8 (on first use). */
  readonly text: string;
}

function httpResponse(status: number, headers: Record<string, string>, bytes: Buffer): HttpResponse {
  let text: string | undefined;
  return {
    status,
    headers,
    bytes,
    get text() {
      return (text ??= bytes.toString('utf8'));
    },
  };
}

/** Counters for the poll summary: what the API cost and how much it throttled us. */
export interface HttpStats {
  requests: number;
  retries: number;
  /** Attempts answered 429 (retried or not). */
  throttled: number;
  /** Attempts answered 5xx (retried or not). */
  server_errors: number;
  /** Attempts that failed without an answer: reset, timeout, truncated body, DNS, TLS. */
  network_errors: number;
  waited_ms: number;
  /** Time spent waiting for the client-side rate limiter. */
  rate_limited_ms: number;
}

/**
 * The one HTTP client of the add-on, used for Entra (through msal's network module) and the APIs:
 * one undici dispatcher carries proxy, CA bundle and timeouts; retries follow the pure policy in retry.ts.
 * Redirects are not followed, so an Authorization header never travels to another host.
 */
export class HttpClient {
  readonly dispatcher: Dispatcher;
  readonly stats: HttpStats = { requests: 0, retries: 0, throttled: 0, server_errors: 0, network_errors: 0, waited_ms: 0, rate_limited_ms: 0 };
  /** Local clock minus the server's, from the latest Date header (1 s resolution). */
  private skewMs = 0;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: HttpClientOptions) {
    this.policy = options.retry ?? DEFAULT_RETRY;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
    this.dispatcher = buildDispatcher(options, this.timeoutMs);
  }

  async send(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const policy = { ...this.policy, ...options.retry };
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(url, options, policy.deadlineMs);
      // 3xx counts as a failure: redirects are never followed (see the class comment).
      if ('status' in outcome && outcome.status < 300) return outcome;
      const decision: AttemptOutcome =
        'status' in outcome
          ? { kind: 'response', status: outcome.status, retryAfter: outcome.headers['retry-after'], bodyText: outcome.text }
          : { kind: 'network', code: outcome.code };
      const kind = decision.kind === 'response' ? statusKind(decision.status) : 'network';
      if (kind === 'throttled') this.stats.throttled++;
      else if (kind === 'http_server') this.stats.server_errors++;
      else if (kind === 'network') this.stats.network_errors++;
      const wait = retryDelayMs(attempt, decision, policy);
      if (wait === undefined) throw finalError(url, outcome);
      this.stats.retries++;
      this.stats.waited_ms += wait;
      this.options.logger.warn('Request failed, retrying', {
        url: safeUrl(url),
        status: 'status' in outcome ? outcome.status : undefined,
        error: 'status' in outcome ? undefined : outcome.code,
        error_kind: kind,
        attempt,
        wait_ms: wait,
      });
      await this.sleep(wait);
    }
  }

  async sendJson<T>(url: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(url, options);
    // 204 No Content (some PATCH answers) has no body to parse.
    if (response.status === 204) return undefined as T;
    return parseJson<T>(url, response.text);
  }

  /**
   * How far the local clock runs ahead of Microsoft's (ms, 0 when behind or unknown). The Date
   * header has 1 s resolution, so differences up to 2 s are treated as none.
   */
  clockAheadMs(): number {
    return this.skewMs > 2000 ? this.skewMs : 0;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async attempt(url: string, options: RequestOptions, deadlineMs?: number): Promise<HttpResponse | { code: string; message: string }> {
    // A caller with a deadline (an alert action) is told the budget is used up rather than held past it.
    if (options.rateLimiter) this.stats.rate_limited_ms += await options.rateLimiter.acquire(deadlineMs);
    this.stats.requests++;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    try {
      const response = await request(url, {
        method: options.method ?? 'GET',
        headers: { 'user-agent': this.options.userAgent ?? 'TA-defender-xdr', ...options.headers, ...options.headersForAttempt?.() },
        body: options.body,
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.timeoutMs === undefined ? {} : { headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
      });
      // Reading the whole body here makes a truncated body a retryable network failure.
      const headers = flattenHeaders(response.headers);
      const bytes = await readBody(response.body, Number(headers['content-length']));
      const serverMs = headers.date ? Date.parse(headers.date) : NaN;
      if (Number.isFinite(serverMs)) this.skewMs = Date.now() - serverMs;
      return httpResponse(response.statusCode, headers, bytes);
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      return { code: err.code ?? err.name ?? 'ERROR', message: err.message };
    }
  }
}

/** A declared length above this is not trusted for one allocation up front; the body still is read. */
const MAX_PREALLOCATED = 64 * 1024 * 1024;

/**
 * The whole body, each chunk copied into one buffer as it arrives (sized by Content-Length when
 * given, from the body pool when large) and dropped at once. undici's arrayBuffer() keeps every
 * chunk until the end: a 5 MB page's chunks then outlive a few scavenges, are promoted, and only a
 * full GC frees them (measured at 100k alerts: up to 70 MB of such chunks in the input's RSS).
 */
async function readBody(body: AsyncIterable<Buffer>, declared: number): Promise<Buffer> {
  let buffer = bodyBuffer(Number.isSafeInteger(declared) && declared > 0 && declared <= MAX_PREALLOCATED ? declared : 64 * 1024);
  let length = 0;
  for await (const chunk of body) {
    if (length + chunk.length > buffer.length) {
      const grown = bodyBuffer(Math.max(2 * buffer.length, length + chunk.length));
      grown.set(buffer.subarray(0, length));
      if (bodies.ownsWhole(buffer.buffer)) bodies.give(buffer.buffer);
      buffer = grown;
    }
    // TypedArray set is a plain memcpy; Buffer.copy went through a slower path (81 ms for 10 pages).
    buffer.set(chunk, length);
    length += chunk.length;
  }
  return length === buffer.length ? buffer : buffer.subarray(0, length);
}

/** Room for a body: pooled memory for a large one (see bodyPool.ts), else a buffer of its own. */
function bodyBuffer(bytes: number): Buffer {
  return bytes >= POOLED_MIN_BYTES ? Buffer.from(bodies.take(bytes)) : Buffer.allocUnsafe(bytes);
}

function finalError(url: string, outcome: HttpResponse | { code: string; message: string }): Error {
  if ('status' in outcome) {
    let body: unknown;
    try {
      body = JSON.parse(outcome.text);
    } catch {
      body = undefined;
    }
    return new HttpError(outcome.status, url, body, outcome.text.slice(0, 2000), outcome.headers);
  }
  return new NetworkError(`${outcome.code}: ${outcome.message}`, url, outcome.code);
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** The PEM bundles trusted on top of Node's public CAs: NODE_EXTRA_CA_CERTS and the account's ca_file. */
function extraCas(caFile: string): string[] {
  const cas: string[] = [];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra) cas.push(notPublic(readFileSync(extra, 'utf8')));
  try {
    cas.push(readFileSync(caFile, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read ca_file ${caFile}: ${(error as Error).message}`);
  }
  return cas;
}

/**
 * The certificates of a PEM bundle that are not among Node's public CAs. The context the extra
 * bundles are added to starts from those CAs, so adding them again changes nothing but costs:
 * NODE_EXTRA_CA_CERTS often names the system's whole bundle (~145 certificates, most of them the
 * same as Node's), and parsing it took ~30 ms of CPU in every poll with a ca_file, against ~15 ms
 * for the rest. Compared as base64 text, whitespace aside. When Node was told to start from
 * OpenSSL's or the system's store instead, its public CAs are not what the context holds: then the
 * bundle is added whole.
 */
export function notPublic(bundle: string): string {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/--use-(openssl|system|bundled)-ca/.test(flags)) return bundle;
  const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, '');
  const known = new Set(rootCertificates.map(body));
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
  // Another kind of block (OpenSSL's TRUSTED CERTIFICATE) is for OpenSSL to judge: the bundle goes whole.
  if (bundle.replace(certificate, '').includes('-----BEGIN')) return bundle;
  return (bundle.match(certificate) ?? []).filter((pem) => !known.has(body(pem))).join('\n');
}

/**
 * One TLS context for all connections: public CAs plus NODE_EXTRA_CA_CERTS plus the account's
 * ca_file; verification is never turned off. Without a ca_file, Node's default (which already
 * includes NODE_EXTRA_CA_CERTS) applies. The extra bundles are added to a context that starts from
 * Node's parsed public CAs (Node copies that store on the first addition, so other contexts keep
 * it as it was): 2-4 ms, where handing the ~145 public CAs over as PEM text, which Node parses
 * again, took ~32 ms in every poll. Should a Node lack the native call, the PEM path is taken.
 */
export function secureContextFor(caFile: string | undefined): SecureContext | undefined {
  if (!caFile) return undefined;
  const cas = extraCas(caFile);
  const context = createSecureContext();
  const native = (context as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert !== 'function') return createSecureContext({ ca: [...rootCertificates, ...cas] });
  for (const pem of cas) if (pem) native.addCACert(pem);
  return context;
}

function buildDispatcher(options: HttpClientOptions, timeoutMs: number): Dispatcher {
  // Built once: tls.connect would otherwise pay for it again for every new connection (pages are fetched two at once).
  const secureContext = secureContextFor(options.caFile);
  const tls = secureContext ? { secureContext } : {};
  const common = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: Math.min(timeoutMs, 30_000), ...tls } };
  if (!options.proxy?.url) return new Agent(common);
  const { url, username, password } = options.proxy;
  const token = username ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` : undefined;
  // proxyTls: an https:// proxy is verified against the same CAs, with the same connect timeout.
  return new ProxyAgent({ ...common, uri: url, token, requestTls: tls, proxyTls: common.connect });
}

/** A response body as JSON; a body that is not JSON is a failure of the request to `url`. */
export function parseJson<T>(url: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new NetworkError('Response body is not valid JSON', url, 'EBADJSON');
  }
}
