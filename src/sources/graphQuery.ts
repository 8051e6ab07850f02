import { HttpError, NetworkError } from '../http/errors.js';
import type { RetryPolicy } from '../http/retry.js';
import { parseJson } from '../http/client.js';
import type { GraphClient, GraphList } from '../microsoft/graph.js';
import { InvalidJsonError } from './pageIdentities.js';
import { parsePage, type PageParser, type ParsedPage } from './pageParser.js';
import { rememberRawJson, scanArray } from './rawJson.js';
import type { Page, WindowQuery } from './window.js';

export interface GraphQueryOptions {
  path: string;
  pageSize: number;
  /** The input's optional extra $filter clause. */
  extraFilter?: string;
  extraQuery?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  /** The property the window filters on; Graph's lists use lastUpdateDateTime. */
  timeProperty?: string;
  /**
   * false for an API that documents no $count (Defender for Endpoint): pages then carry count -1,
   * and a full page without @odata.nextLink still gets a next page by $skip, since OData lets a
   * server stop at $top without a link.
   */
  counted?: boolean;
  /**
   * Items carry only `id` and the time property (plus their raw JSON, see rawJson.ts). Each
   * element is still parsed, but on its own, so its object graph dies young instead of a whole
   * page's graph (~15 MB for 1000 alerts) outliving the I/O waits and being promoted.
   */
  identityOnly?: boolean;
  /**
   * Asks for `$orderby=<timeProperty> asc` (see WindowOptions.ascendingQuery). Not documented for
   * the security lists, so a 400 to it is answered by asking once more without it, and not asking
   * again in this process; those pages then fail the window's checks and it reads by offset.
   */
  ascending?: boolean;
  /** How identity-only pages are parsed; by default on the page worker (pageParser.ts). */
  parser?: PageParser;
}

/**
 * The OData filter of one window, [from, to) or (from, to) when `after`; the admin's clause is
 * parenthesised so its `or` cannot escape.
 */
export function windowFilter(from: string, to: string, extraFilter?: string, timeProperty = 'lastUpdateDateTime', after = false): string {
  const window = `${timeProperty} ${after ? 'gt' : 'ge'} ${from} and ${timeProperty} lt ${to}`;
  return extraFilter?.trim() ? `${window} and (${extraFilter.trim()})` : window;
}

/** A response as the pager needs it: its top-level members at once, its items when read. */
interface Fetched<T> {
  body: GraphList<T>;
  /** Elements in `value`, parsed or not. */
  length: number;
  /** Every element, memoised. */
  read: () => Promise<T[]>;
  /** The last element alone. */
  last: () => T | undefined;
  /** See Page.release. */
  release?: () => void;
}

/** A WindowQuery over an OData list: $filter on the window, $count on every page, @odata.nextLink followed verbatim. */
export function graphWindowQuery<T>(graph: GraphClient, options: GraphQueryOptions): WindowQuery<T> {
  const counted = options.counted ?? true;
  const timeProperty = options.timeProperty ?? 'lastUpdateDateTime';
  const parser = options.parser ?? parsePage;
  const get = async (url: string): Promise<Fetched<T>> => {
    let bytes = await graph.getBytes(url, { retry: options.retry });
    if (options.identityOnly) {
      const parsed = await badJsonAs(url, parser(bytes, timeProperty));
      if (parsed.kind === 'head') return identityPage<T>(url, parsed);
      bytes = parsed.bytes; // handed over to the parser and back
    }
    const body = withRawItems(parseJson<GraphList<T>>(url, bytes.toString('utf8')), bytes);
    const value = Array.isArray(body?.value) ? body.value : [];
    return { body, length: value.length, read: async () => value, last: () => value.at(-1) };
  };
  const toPage = ({ body, length, read, last, release }: Fetched<T>, query: Record<string, string>, skip: number): Page<T> => {
    // A proxy or a broken answer must fail the poll loudly, not be read as an empty page.
    if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
      throw new Error(`${options.path} answered without a "value" array; is a proxy answering for Microsoft?`);
    }
    const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    const nextSkip = skip + length;
    const next = nextLink
      ? async () => toPage(await get(nextLink), query, nextSkip)
      : !counted && length >= options.pageSize
        ? async () => toPage(await get(graph.url(options.path, { ...query, $skip: String(nextSkip) })), query, nextSkip)
        : undefined;
    let kept: T[] | undefined;
    return {
      // Parsed on first read: the pager asks for the next page first, so that request is already
      // on its way while this page's elements are parsed (the request chain no longer waits on it).
      read: async () => (kept ??= (await read()).filter(isItem)),
      size: length,
      release,
      count: typeof body['@odata.count'] === 'number' ? body['@odata.count'] : -1,
      next,
      last: () => {
        const item = kept ? kept.at(-1) : last();
        return isItem(item) ? item : undefined;
      },
    };
  };
  let orderRefused = false;
  return async (from, to, after, skip = 0) => {
    const query: Record<string, string> = {
      $filter: windowFilter(from, to, options.extraFilter, options.timeProperty, after),
      $top: String(options.pageSize),
      ...(counted ? { $count: 'true' } : {}),
      ...options.extraQuery,
    };
    const at = skip > 0 ? { $skip: String(skip) } : {};
    if (options.ascending && !orderRefused) {
      try {
        return toPage(await get(graph.url(options.path, { ...query, $orderby: `${timeProperty} asc`, ...at })), query, skip);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 400)) throw error;
        orderRefused = true;
      }
    }
    return toPage(await get(graph.url(options.path, { ...query, ...at })), query, skip);
  };
}

function isItem<T>(item: T): item is T {
  return typeof item === 'object' && item !== null;
}

function withRawItems<T>(body: GraphList<T>, bytes: Buffer): GraphList<T> {
  const value = (body as { value?: unknown } | null)?.value;
  if (Array.isArray(value)) rememberRawJson(value, scanArray(bytes, 'value')?.elements);
  return body;
}

/** A page read for identities (see pageParser.ts), its items remembering their raw JSON. */
function identityPage<T>(url: string, parsed: Extract<ParsedPage, { kind: 'head' }>): Fetched<T> {
  let items: Promise<T[]> | undefined;
  const read = async (): Promise<T[]> => {
    const { elements, identities } = await badJsonAs(url, parsed.items());
    rememberRawJson(identities, elements);
    return identities as T[];
  };
  return {
    body: parsed.skeleton as GraphList<T>, length: parsed.size, read: () => (items ??= read()), last: () => parsed.last as T | undefined,
    release: parsed.release,
  };
}

/** A body or element JSON.parse refused fails as parseJson() fails. */
async function badJsonAs<V>(url: string, pending: Promise<V>): Promise<V> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof InvalidJsonError) throw new NetworkError('Response body is not valid JSON', url, 'EBADJSON');
    throw error;
  }
}
