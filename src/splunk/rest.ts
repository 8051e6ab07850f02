import type { Dispatcher } from 'undici';
import { Agent, request } from '../http/undiciParts.js';

export const APP = 'TA-defender-xdr';

/** A splunkd REST failure, with splunkd's own message text. */
export class SplunkdError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'SplunkdError';
  }
}

interface Entry {
  name: string;
  content: Record<string, unknown>;
}

/** A splunkd request that has not answered in this time fails (its management port is local). */
const TIMEOUT_MS = 60_000;

let dispatcher: Dispatcher | undefined;

/**
 * One connection pool to splunkd for the process: the few reads of a poll share one TLS
 * connection. Certificate verification is off for splunkd's management port only, as splunk-sdk
 * did: it usually has Splunk's self-signed certificate, which cannot be hostname-verified, and the
 * input reaches it at the address splunkd itself gave (server_uri). Microsoft's APIs are always verified.
 */
function splunkdDispatcher(): Dispatcher {
  return (dispatcher ??= new Agent({ connect: { rejectUnauthorized: false }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS }));
}

/**
 * splunkd's REST API as the input needs it: session-key auth, the app's namespace, JSON answers.
 * (It had gone through splunk-sdk, whose HTTP stack, needle and iconv-lite, cost a quiet poll
 * ~40 ms of CPU and ~4 MB for these few GETs: see docs/performance.md.)
 */
export class SplunkRest {
  private readonly base: string;

  constructor(
    serverUri: string,
    private readonly sessionKey: string,
    app: string = APP,
  ) {
    this.base = `${serverUri.replace(/\/+$/, '')}/servicesNS/nobody/${encodeURIComponent(app)}/`;
  }

  /** One stanza of a conf file (default merged with local), or undefined when it does not exist. */
  async confStanza(file: string, stanza: string): Promise<Record<string, string> | undefined> {
    const entry = await this.getEntry(`configs/conf-${file}/${encodeURIComponent(stanza)}`);
    return entry ? stringContent(entry.content) : undefined;
  }

  /** The clear-text password stored for realm + username, or undefined. */
  async password(realm: string, username: string): Promise<string | undefined> {
    const name = `${escapeColons(realm)}:${escapeColons(username)}:`;
    const entry = await this.getEntry(`storage/passwords/${encodeURIComponent(name)}`);
    const clear = entry?.content.clear_password;
    return typeof clear === 'string' ? clear : undefined;
  }

  private async getEntry(path: string): Promise<Entry | undefined> {
    let status: number;
    let text: string;
    try {
      const response = await request(`${this.base}${path}?output_mode=json`, {
        method: 'GET',
        headers: { authorization: `Splunk ${this.sessionKey}` },
        dispatcher: splunkdDispatcher(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new SplunkdError(`Cannot reach splunkd for ${path}: ${(error as Error).message}`, 0);
    }
    if (status === 404) return undefined;
    let body: { entry?: Entry[]; messages?: { text?: string }[] } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (status >= 300) throw new SplunkdError(describeFailure(path, status, body?.messages), status);
    if (!body) throw new SplunkdError(`splunkd answered ${path} with a body that is not JSON`, status);
    return body.entry?.[0];
  }
}

function describeFailure(path: string, status: number, messages: { text?: string }[] | undefined): string {
  const text = messages?.map((m) => m.text).filter(Boolean).join('; ');
  if (status === 401) return `splunkd refused the session key (401) reading ${path}${text ? `: ${text}` : ''}`;
  return `splunkd answered ${status} for ${path}${text ? `: ${text}` : ''}`;
}

function stringContent(content: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(content)) {
    if (typeof value === 'string') out[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value);
  }
  return out;
}

/** storage/passwords entry names escape ':' inside realm and username. */
export function escapeColons(value: string): string {
  return value.replace(/:/g, '\\:');
}
