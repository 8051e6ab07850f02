import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { finished } from 'node:stream';
import { createSecureContext, rootCertificates, TLSSocket, type SecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Logger } from '../splunk/log.js';
import { HttpError, NetworkError, safeUrl, statusKind } from './errors.js';
import type { RateLimiter } from './rateLimiter.js';
import { DEFAULT_RETRY, retryDelayMs, type AttemptOutcome, type RetryPolicy } from './retry.js';
import { bodies, POOLED_MIN_BYTES } from './bodyPool.js';
import { HttpsTunnelAgent, HttpTunnelAgent, proxyCredentials } from './proxyTunnel.js';
import { undiciDispatcher } from './undiciDispatcher.cjs';

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
 * Node's own https, over one keep-alive agent that carries the proxy tunnel and the TLS context;
 * retries follow the pure policy in retry.ts. Redirects are not followed, so an Authorization
 * header never travels to another host. undici is built only for the callers that need a
 * dispatcher (the streaming inputs' Azure SDK transport and WebSocket): a poll never loads it.
 */
export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, throttled: 0, server_errors: 0, network_errors: 0, waited_ms: 0, rate_limited_ms: 0 };
  /** Local clock minus the server's, from the latest Date header (1 s resolution). */
  private skewMs = 0;
  /** Whether skewMs was read from an answer of this process (not assumed). */
  private skewMeasured = false;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly secureContext: SecureContext | undefined;
  private readonly agents: { 'https:': HttpsAgent; 'http:': HttpAgent };
  private undici: Dispatcher | undefined;
  /** Aborted by close(): a retry wait ends, and nothing is sent again for a caller that is gone. */
  private readonly closing = new AbortController();

  constructor(private readonly options: HttpClientOptions) {
    this.policy = options.retry ?? DEFAULT_RETRY;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => sleep(ms, undefined, { signal: this.closing.signal }).catch(() => undefined));
    // Built once: tls.connect would otherwise pay for it again for every new connection (pages are fetched two at once).
    this.secureContext = secureContextFor(options.caFile);
    this.agents = buildAgents(options.proxy, this.secureContext, connectTimeoutMs(this.timeoutMs));
  }

  /** An undici dispatcher with the same proxy, TLS context and timeouts, built on first use (see the class comment). */
  get dispatcher(): Dispatcher {
    const proxy = this.options.proxy?.url ? { url: this.options.proxy.url, credentials: proxyCredentials(this.options.proxy) } : undefined;
    return (this.undici ??= undiciDispatcher({ timeoutMs: this.timeoutMs, connectTimeoutMs: connectTimeoutMs(this.timeoutMs), secureContext: this.secureContext, proxy }));
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
      if (wait === undefined || this.closing.signal.aborted) throw finalError(url, outcome);
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
      if (this.closing.signal.aborted) throw finalError(url, outcome);
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

  /** The skew read from the latest answer of this process; undefined before any. */
  measuredSkewMs(): number | undefined {
    return this.skewMeasured ? this.skewMs : undefined;
  }

  /**
   * A skew read earlier (with a token kept from an earlier poll, which made no request to Entra
   * ID in this one): stands until an answer of this process tells the current one.
   */
  assumeClockAheadMs(skewMs: number): void {
    if (!this.skewMeasured) this.skewMs = skewMs;
  }

  /**
   * Ends the client: requests in flight fail at once and are not retried (undici's close() waited
   * for them; the page pipeline already waits for its own before the poll ends), kept-alive
   * sockets close, and so does the undici dispatcher if one was built.
   */
  async close(): Promise<void> {
    this.closing.abort();
    this.agents['https:'].destroy();
    this.agents['http:'].destroy();
    await this.undici?.close();
  }

  private async attempt(url: string, options: RequestOptions, deadlineMs?: number): Promise<HttpResponse | NetworkFailure> {
    // A caller with a deadline (an alert action) is told the budget is used up rather than held past it.
    if (options.rateLimiter) this.stats.rate_limited_ms += await options.rateLimiter.acquire(deadlineMs);
    this.stats.requests++;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { code: 'ERR_INVALID_URL', message: 'Invalid URL' };
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return { code: 'ERR_INVALID_URL', message: `Unsupported protocol ${target.protocol}` };
    const outcome = await exchange(target, {
      agent: this.agents[target.protocol],
      method: options.method ?? 'GET',
      headers: { 'user-agent': this.options.userAgent ?? 'TA-defender-xdr', ...options.headers, ...options.headersForAttempt?.() },
      body: options.body,
      timeoutMs,
      connectTimeoutMs: connectTimeoutMs(timeoutMs),
    });
    if ('code' in outcome) return outcome;
    const serverMs = outcome.headers.date ? Date.parse(outcome.headers.date) : NaN;
    if (Number.isFinite(serverMs)) {
      this.skewMs = Date.now() - serverMs;
      this.skewMeasured = true;
    }
    return outcome;
  }
}

/** An attempt that got no (whole) answer: a Node error code, or one of the timeouts below. */
interface NetworkFailure {
  code: string;
  message: string;
}

/** How long connecting (TCP, proxy tunnel, TLS) may take of an attempt's time: a 3-minute hunt does not wait 3 minutes for a dead host. */
function connectTimeoutMs(timeoutMs: number): number {
  return Math.min(timeoutMs, 30_000);
}

/**
 * The codes of an attempt that ran out of time, by what it was waiting for. CONNECT_TIMEOUT gets
 * the "cannot be reached" hint (errors.ts); all three are retried and read as a timeout (hunting.ts).
 */
type Phase = 'connect' | 'headers' | 'body';
const TIMEOUT_CODE: Record<Phase, string> = { connect: 'CONNECT_TIMEOUT', headers: 'HEADERS_TIMEOUT', body: 'BODY_TIMEOUT' };
const TIMEOUT_WHAT: Record<Phase, string> = { connect: 'no connection', headers: 'no response headers', body: 'the response body not complete' };

interface Exchange {
  agent: HttpAgent;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * One request and its whole response, within the attempt's time: connecting within
 * connectTimeoutMs, everything within timeoutMs. A body that ends short of its Content-Length, or
 * a connection lost mid-body, is a failure (retried), never a short answer.
 */
function exchange(target: URL, { agent, method, headers, body, timeoutMs, connectTimeoutMs }: Exchange): Promise<HttpResponse | NetworkFailure> {
  return new Promise((resolve) => {
    let phase: Phase = 'connect';
    let settled = false;
    const settle = (outcome: HttpResponse | NetworkFailure) => {
      if (settled) return;
      settled = true;
      clearTimeout(attemptTimer);
      clearTimeout(connectTimer);
      resolve(outcome);
    };
    const failed = (error: unknown) => {
      const err = error as NodeJS.ErrnoException;
      settle({ code: err.code ?? err.name ?? 'ERROR', message: err.message });
    };
    const timedOut = (ms: number) => {
      // Settled first: whatever the destroyed request reports next is about this timeout.
      settle({ code: TIMEOUT_CODE[phase], message: `${TIMEOUT_WHAT[phase]} within ${ms} ms` });
      request.destroy();
    };
    const attemptTimer = setTimeout(() => timedOut(timeoutMs), timeoutMs);
    const connectTimer = connectTimeoutMs < timeoutMs ? setTimeout(() => timedOut(connectTimeoutMs), connectTimeoutMs) : undefined;
    const connected = () => {
      clearTimeout(connectTimer);
      if (phase === 'connect') phase = 'headers';
    };
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let request: ClientRequest;
    try {
      request = send(target, { method, headers, agent });
    } catch (error) {
      // A header value Node refuses (ERR_INVALID_CHAR): no request left.
      return failed(error);
    }
    request.once('socket', (socket: Socket) => {
      // A kept-alive socket is ready at once; a new one once connected (and its TLS handshake done).
      if (socket instanceof TLSSocket ? socket.authorized : !socket.connecting) connected();
      else socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', connected);
    });
    request.on('error', failed);
    request.once('response', (response: IncomingMessage) => {
      connected();
      phase = 'body';
      const responseHeaders = flattenHeaders(response.headers);
      const declared = Number(responseHeaders['content-length']);
      readBody(response, declared).then((bytes) => {
        const bodiless = response.statusCode === 204 || response.statusCode === 304;
        if (!bodiless && Number.isSafeInteger(declared) && bytes.length < declared) {
          settle({ code: 'ETRUNCATED', message: `the response body ended after ${bytes.length} of ${declared} bytes` });
        } else {
          settle(httpResponse(response.statusCode ?? 0, responseHeaders, bytes));
        }
      }, failed);
    });
    request.end(body);
  });
}

/** A declared length above this is not trusted for one allocation up front; the body still is read. */
const MAX_PREALLOCATED = 64 * 1024 * 1024;

/**
 * The whole body, each chunk copied into one buffer as it arrives (sized by Content-Length when
 * given, from the body pool when large) and dropped at once. Keeping every chunk until the end
 * (undici's arrayBuffer() did) makes a 5 MB page's chunks outlive a few scavenges, be promoted,
 * and wait for a full GC (measured at 100k alerts: up to 70 MB of such chunks in the input's RSS).
 */
function readBody(body: IncomingMessage, declared: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffer = bodyBuffer(Number.isSafeInteger(declared) && declared > 0 && declared <= MAX_PREALLOCATED ? declared : 64 * 1024);
    let length = 0;
    // 'data' events, not for await: the async iterator's read() joins buffered chunks into a new
    // buffer first, one more copy of the body.
    body.on('data', (chunk: Buffer) => {
      if (length + chunk.length > buffer.length) {
        const grown = bodyBuffer(Math.max(2 * buffer.length, length + chunk.length));
        grown.set(buffer.subarray(0, length));
        if (bodies.ownsWhole(buffer.buffer)) bodies.give(buffer.buffer);
        buffer = grown;
      }
      // TypedArray set is a plain memcpy; Buffer.copy went through a slower path (81 ms for 10 pages).
      buffer.set(chunk, length);
      length += chunk.length;
    });
    // A connection lost mid-body is an error here (ECONNRESET 'aborted', or a premature close).
    finished(body, (error) => (error ? reject(error) : resolve(length === buffer.length ? buffer : buffer.subarray(0, length))));
  });
}

/** Room for a body: pooled memory for a large one (see bodyPool.ts), else a buffer of its own. */
function bodyBuffer(bytes: number): Buffer {
  return bytes >= POOLED_MIN_BYTES ? Buffer.from(bodies.take(bytes)) : Buffer.allocUnsafe(bytes);
}

function finalError(url: string, outcome: HttpResponse | NetworkFailure): Error {
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

/**
 * One keep-alive agent per scheme, with the TLS context (verification is never turned off) and,
 * behind a proxy, CONNECT tunnels (proxyTunnel.ts; an https:// proxy verified with the same CAs).
 * Plain http:// is for loopback stand-ins and tests; every Microsoft endpoint is https.
 * Idle sockets are closed after 4 s, as undici did, before a server drops them under a request.
 */
function buildAgents(proxy: ProxySettings | undefined, secureContext: SecureContext | undefined, connectTimeoutMs: number) {
  const common = { keepAlive: true, timeout: 4_000 };
  const tls = secureContext ? { secureContext } : {};
  if (!proxy?.url) return { 'https:': new HttpsAgent({ ...common, ...tls }), 'http:': new HttpAgent(common) };
  const tunnel = { ...proxy, secureContext, connectTimeoutMs };
  return { 'https:': new HttpsTunnelAgent(tunnel, { ...common, ...tls }), 'http:': new HttpTunnelAgent(tunnel, common) };
}

/** A response body as JSON; a body that is not JSON is a failure of the request to `url`. */
export function parseJson<T>(url: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new NetworkError('Response body is not valid JSON', url, 'EBADJSON');
  }
}
