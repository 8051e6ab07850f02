import { Agent, request } from 'undici';
import { ChunkReader, encodeChunk, toCsv } from './chunked.js';

/** The add-on's app folder, whose REST endpoint the command calls (kept free of splunk-sdk: the command stays small). */
const APP = 'TA-defender-xdr';
/** Rows per reply when splunkd does not say (its own default maxresultrows). */
const DEFAULT_CHUNK_ROWS = 50_000;

export interface HuntArgs {
  account: string;
  query: string;
  timespan?: string;
  maxRows?: number;
}

/** `account=prod query="…" timespan=… max_rows=…` as splunkd passes them (one string per argument). */
export function parseArgs(args: string[]): HuntArgs {
  const values: Record<string, string> = {};
  for (const arg of args) {
    const match = /^([A-Za-z_]+)=([\s\S]*)$/.exec(arg);
    if (!match) throw new Error(`Unexpected argument "${arg}". Syntax: | defenderhunt account=<name> query="<KQL>" [timespan=<ISO 8601 interval>] [max_rows=<n>]`);
    const name = match[1]!.toLowerCase();
    if (!['account', 'query', 'timespan', 'max_rows'].includes(name)) throw new Error(`Unknown argument "${match[1]}": defenderhunt takes account, query, timespan and max_rows.`);
    values[name] = match[2]!.replace(/^"([\s\S]*)"$/, '$1');
  }
  if (!values.account) throw new Error('account is required, e.g. | defenderhunt account=prod query="DeviceProcessEvents | take 10"');
  if (!values.query) throw new Error('query is required, e.g. | defenderhunt account=prod query="DeviceProcessEvents | take 10"');
  let maxRows: number | undefined;
  if (values.max_rows !== undefined) {
    maxRows = Number(values.max_rows);
    if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > 100_000) throw new Error(`max_rows must be a whole number from 1 to 100000, not "${values.max_rows}".`);
  }
  return { account: values.account, query: values.query, timespan: values.timespan, maxRows };
}

/** The search's time range as Graph's Timespan, when it has one. */
export function searchTimespan(earliest: unknown, latest: unknown): string | undefined {
  const e = Number(earliest);
  const l = Number(latest);
  if (!Number.isFinite(e) || e <= 0) return undefined;
  const end = Number.isFinite(l) && l > 0 ? l : Date.now() / 1000;
  return `${new Date(e * 1000).toISOString()}/${new Date(end * 1000).toISOString()}`;
}

/** A value as a Splunk field: dynamic columns as JSON, others as text. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

interface SearchInfo {
  args?: string[];
  session_key?: string;
  splunkd_uri?: string;
  owner?: string;
  username?: string;
  earliest_time?: unknown;
  latest_time?: unknown;
  maxresultrows?: unknown;
}

/**
 * The generating command: getinfo is answered from the arguments alone (splunkd may start the
 * process more than once per search); the hunt runs on the first execute, through the add-on's
 * REST endpoint with the searching user's session; rows go back maxresultrows at a time.
 */
export async function runCommand(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, stderr: (line: string) => void): Promise<number> {
  const reader = new ChunkReader();
  let info: SearchInfo = {};
  let args: HuntArgs | undefined;
  let rows: Record<string, string>[] | undefined;
  let fields: string[] = [];
  let exitCode = 0;
  const send = (metadata: unknown, body = '') => new Promise<void>((resolve) => output.write(encodeChunk(metadata, body), () => resolve()));
  const fail = async (text: string) => {
    exitCode = 1;
    stderr(`ERROR defenderhunt: ${text}`);
    await send({ finished: true, inspector: { messages: [['ERROR', text]] } });
  };
  for await (const data of input) {
    for (const chunk of reader.push(data as Buffer)) {
      const action = chunk.metadata.action;
      if (action === 'getinfo') {
        info = (chunk.metadata.searchinfo ?? {}) as SearchInfo;
        try {
          args = parseArgs(info.args ?? []);
        } catch (error) {
          await fail((error as Error).message);
          continue;
        }
        // Generating, on the search head only: never distributed to indexers.
        await send({ type: 'stateful', generating: true });
        continue;
      }
      if (action !== 'execute' || exitCode) {
        await send({ finished: true });
        continue;
      }
      if (!rows) {
        try {
          ({ rows, fields } = await hunt(info, args!));
        } catch (error) {
          await fail((error as Error).message);
          continue;
        }
      }
      const size = Number(info.maxresultrows) > 0 ? Number(info.maxresultrows) : DEFAULT_CHUNK_ROWS;
      const batch = rows.splice(0, size);
      await send({ finished: rows.length === 0 }, toCsv(fields, batch));
    }
  }
  return exitCode;
}

async function hunt(info: SearchInfo, args: HuntArgs): Promise<{ rows: Record<string, string>[]; fields: string[] }> {
  if (!info.splunkd_uri || !info.session_key) throw new Error('splunkd passed no session: run defenderhunt from a search.');
  const timespan = args.timespan ?? searchTimespan(info.earliest_time, info.latest_time);
  const form = new URLSearchParams({ output_mode: 'json', account: args.account, query: args.query });
  if (timespan) form.set('timespan', timespan);
  if (args.maxRows) form.set('max_rows', String(args.maxRows));
  const owner = encodeURIComponent(info.username ?? info.owner ?? 'nobody');
  // splunkd's own loopback management port (a self-signed certificate by default), as the SDKs do.
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const response = await request(`${info.splunkd_uri}/servicesNS/${owner}/${APP}/defender_xdr/hunt`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Splunk ${info.session_key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      headersTimeout: 240_000,
      bodyTimeout: 240_000,
    });
    const text = await response.body.text();
    let body: { schema?: { name: string; type: string }[]; results?: Record<string, unknown>[]; messages?: { text?: string }[] };
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`The add-on's hunt endpoint answered HTTP ${response.statusCode} without JSON.`);
    }
    if (response.statusCode !== 200) {
      const message = body.messages?.map((m) => m.text).filter(Boolean).join(' ') || `HTTP ${response.statusCode}`;
      throw new Error(response.statusCode === 403 ? `${message} Hunting needs the defender_xdr_hunt capability (role defender_xdr_hunter).` : message);
    }
    const schema = body.schema ?? [];
    const timeColumn = schema.find((c) => c.name === 'Timestamp' && /date/i.test(c.type));
    const fields = [...(timeColumn ? ['_time'] : []), ...schema.map((c) => c.name)];
    const rows = (body.results ?? []).map((result) => {
      const row: Record<string, string> = {};
      for (const column of schema) row[column.name] = cell(result[column.name]);
      if (timeColumn) {
        const ms = Date.parse(String(result.Timestamp ?? '').replace(/(\.\d{3})\d+Z$/, '$1Z'));
        if (Number.isFinite(ms)) row._time = (ms / 1000).toFixed(3);
      }
      return row;
    });
    return { rows, fields };
  } finally {
    await dispatcher.close();
  }
}
