import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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

interface Feed {
  entry?: Entry[];
  messages?: { text?: string }[];
}

/** A splunkd request that has not answered in this time fails (its management port is local). */
const TIMEOUT_MS = 60_000;

/**
 * One keep-alive pool per scheme for the process, so the few reads of a poll share one connection
 * (idle sockets are unref'd by Node: they never keep the process alive). Certificate verification
 * is off for splunkd's management port only, as splunk-sdk had it: it usually has Splunk's
 * self-signed certificate, which cannot be hostname-verified, and the input reaches it at the
 * address splunkd itself gave (server_uri). Microsoft's APIs are always verified (http/client.ts).
 *
 * Node's own http/https stack, not undici: undici's connect fails under Wine (connect UNKNOWN),
 * where CI runs the Windows launchers' --validate-arguments (docs/performance.md).
 */
let httpsAgent: HttpsAgent | undefined;
let httpAgent: HttpAgent | undefined;

/**
 * splunkd's REST API as the input needs it: session-key auth, the app's namespace, JSON answers.
 * (It had gone through splunk-sdk, whose HTTP stack, needle and iconv-lite, were ~0.6 MB of every
 * bundle that reads a setting: see docs/performance.md, "Quiet polls".)
 */
export class SplunkRest {
  private readonly base: URL;

  constructor(
    serverUri: string,
    private readonly sessionKey: string,
    app: string = APP,
  ) {
    this.base = new URL(`${serverUri.replace(/\/+$/, '')}/servicesNS/nobody/${encodeURIComponent(app)}/`);
  }

  /** One stanza of a conf file (default merged with local), or undefined when it does not exist. */
  async confStanza(file: string, stanza: string): Promise<Record<string, string> | undefined> {
    const entry = (await this.get(`configs/conf-${file}/${encodeURIComponent(stanza)}`))?.entry?.[0];
    return entry ? stringContent(entry.content) : undefined;
  }

  /** Every stanza of a conf file (default merged with local) in one request, by name; empty when the file does not exist. */
  async confStanzas(file: string): Promise<Map<string, Record<string, string>>> {
    const feed = await this.get(`configs/conf-${file}`, 'count=0');
    return new Map((feed?.entry ?? []).map((entry) => [entry.name, stringContent(entry.content)]));
  }

  /**
   * The enabled stanzas of a modular input scheme, in every app (the wildcard namespace), by name,
   * with their parameters (splunkd's `eai:` fields and `disabled` left out).
   */
  async inputStanzas(scheme: string): Promise<Map<string, Record<string, string>>> {
    const feed = await this.get(`../../-/-/data/inputs/${encodeURIComponent(scheme)}`, 'count=0');
    const stanzas = new Map<string, Record<string, string>>();
    for (const entry of feed?.entry ?? []) {
      const content = stringContent(entry.content);
      if (/^(1|true|t|yes|y)$/i.test(content.disabled ?? '')) continue;
      stanzas.set(entry.name, Object.fromEntries(Object.entries(content).filter(([key]) => key !== 'disabled' && !key.startsWith('eai:'))));
    }
    return stanzas;
  }

  /** The clear-text password stored for realm + username, or undefined. */
  async password(realm: string, username: string): Promise<string | undefined> {
    const name = `${escapeColons(realm)}:${escapeColons(username)}:`;
    const clear = (await this.get(`storage/passwords/${encodeURIComponent(name)}`))?.entry?.[0]?.content.clear_password;
    return typeof clear === 'string' ? clear : undefined;
  }

  /** GET of `path` in the app's namespace; undefined for 404. */
  private async get(path: string, query = ''): Promise<Feed | undefined> {
    const url = new URL(`${path}?output_mode=json${query ? `&${query}` : ''}`, this.base);
    let status: number;
    let text: string;
    try {
      ({ status, text } = await getText(url, this.sessionKey));
    } catch (error) {
      throw new SplunkdError(`Cannot reach splunkd for ${path}: ${(error as Error).message}`, 0);
    }
    if (status === 404) return undefined;
    let feed: Feed | undefined;
    try {
      feed = JSON.parse(text) as Feed;
    } catch {
      feed = undefined;
    }
    if (status >= 300) throw new SplunkdError(describeFailure(path, status, feed?.messages), status);
    if (!feed) throw new SplunkdError(`splunkd answered ${path} with a body that is not JSON`, status);
    return feed;
  }
}

function getText(url: URL, sessionKey: string): Promise<{ status: number; text: string }> {
  const secure = url.protocol === 'https:';
  const agent = secure ? (httpsAgent ??= new HttpsAgent({ keepAlive: true, rejectUnauthorized: false })) : (httpAgent ??= new HttpAgent({ keepAlive: true }));
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', agent, headers: { authorization: `Splunk ${sessionKey}` }, timeout: TIMEOUT_MS }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
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

/** storage/passwords entries escape ':' inside realm and username. */
export function escapeColons(value: string): string {
  return value.replace(/:/g, '\\:');
}
