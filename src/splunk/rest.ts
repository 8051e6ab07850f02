import splunkjs, { type SdkResponse } from 'splunk-sdk';

export const APP = 'TA-defender-xdr';

// splunk-sdk prints its own errors to the console, which would reach splunkd.log without a level
// word (and a 404 for an optional stanza is not an error); this module reports failures itself.
splunkjs.Logger.setLevel('NONE');

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

/**
 * splunkd's REST API as the input needs it, through splunk-sdk's Service (session-key auth,
 * app namespace). splunk-sdk skips TLS verification for this call only: splunkd's management
 * port usually has Splunk's self-signed certificate, which cannot be hostname-verified.
 */
export class SplunkRest {
  private readonly service: InstanceType<typeof splunkjs.Service>;

  constructor(serverUri: string, sessionKey: string, app: string = APP) {
    const url = new URL(serverUri);
    this.service = new splunkjs.Service({
      scheme: url.protocol.replace(':', ''),
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? '443' : '80'),
      sessionKey,
      owner: 'nobody',
      app,
    });
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
    let response: SdkResponse;
    try {
      response = await this.service.get(path, {});
    } catch (thrown) {
      const failure = thrown as SdkResponse;
      const status = Number(failure.status);
      if (status === 404) return undefined;
      throw new SplunkdError(describeFailure(path, failure), Number.isFinite(status) ? status : 0);
    }
    const entries = (response.data as { entry?: Entry[] } | undefined)?.entry;
    return entries?.[0];
  }
}

function describeFailure(path: string, failure: SdkResponse): string {
  const messages = (failure.data as { messages?: { text?: string }[] } | undefined)?.messages;
  const text = messages?.map((m) => m.text).filter(Boolean).join('; ');
  const status = Number(failure.status);
  if (status === 401) return `splunkd refused the session key (401) reading ${path}${text ? `: ${text}` : ''}`;
  if (status === 600 || !Number.isFinite(status)) return `Cannot reach splunkd for ${path}: ${String((failure.error as Error | undefined)?.message ?? failure.error ?? 'connection failed')}`;
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
