import type { RetryPolicy } from '../http/retry.js';
import { parseJson } from '../http/client.js';
import type { GraphClient, GraphList } from '../microsoft/graph.js';
import { rememberRawJson, scanArray } from './rawJson.js';
import type { Page, WindowQuery } from './window.js';

export interface GraphQueryOptions {
  path: string;
  pageSize: number;
  /** The input's optional extra $filter clause. */
  extraFilter?: string;
  extraQuery?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
  /**
   * Items carry only `id` and `lastUpdateDateTime` (plus their raw JSON, see rawJson.ts). Each
   * element is still parsed, but on its own, so its object graph dies young instead of a whole
   * page's graph (~15 MB for 1000 alerts) outliving the I/O waits and being promoted.
   */
  identityOnly?: boolean;
}

/** The OData filter of one closed window; the admin's clause is parenthesised so its `or` cannot escape. */
export function windowFilter(from: string, to: string, extraFilter?: string): string {
  const window = `lastUpdateDateTime ge ${from} and lastUpdateDateTime lt ${to}`;
  return extraFilter?.trim() ? `${window} and (${extraFilter.trim()})` : window;
}

/** A WindowQuery over a Graph list: $filter on the window, $count on every page, @odata.nextLink followed verbatim. */
export function graphWindowQuery<T>(graph: GraphClient, options: GraphQueryOptions): WindowQuery<T> {
  const get = async (url: string): Promise<GraphList<T>> => {
    const bytes = await graph.getBytes(url, { retry: options.retry });
    return options.identityOnly ? identityPage<T>(url, bytes) : withRawItems(parseJson<GraphList<T>>(url, bytes.toString('utf8')), bytes);
  };
  const toPage = (body: GraphList<T>): Page<T> => {
    // A proxy or a broken answer must fail the poll loudly, not be read as an empty page.
    if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
      throw new Error(`${options.path} answered without a "value" array; is a proxy answering for Microsoft Graph?`);
    }
    const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    return {
      items: body.value.filter((item): item is T => typeof item === 'object' && item !== null),
      count: typeof body['@odata.count'] === 'number' ? body['@odata.count'] : -1,
      next: nextLink ? async () => toPage(await get(nextLink)) : undefined,
    };
  };
  return async (from, to) => {
    const url = graph.url(options.path, {
      $filter: windowFilter(from, to, options.extraFilter),
      $top: String(options.pageSize),
      $count: 'true',
      ...options.extraQuery,
    });
    return toPage(await get(url));
  };
}

function withRawItems<T>(body: GraphList<T>, bytes: Buffer): GraphList<T> {
  const value = (body as { value?: unknown } | null)?.value;
  if (Array.isArray(value)) rememberRawJson(value, scanArray(bytes, 'value')?.elements);
  return body;
}

/**
 * A page as its top-level members plus identity-only items. Still every byte is parsed (the
 * skeleton, then each element on its own), so a body that is not JSON fails as before.
 */
function identityPage<T>(url: string, bytes: Buffer): GraphList<T> {
  const span = scanArray(bytes, 'value');
  if (!span) return parseJson<GraphList<T>>(url, bytes.toString('utf8'));
  const body = parseJson<GraphList<T>>(url, bytes.toString('utf8', 0, span.start) + '[]' + bytes.toString('utf8', span.end));
  const items: unknown[] = [];
  for (const element of span.elements) {
    const item = parseJson<unknown>(url, element.toString('utf8'));
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const { id, lastUpdateDateTime } = item as { id?: unknown; lastUpdateDateTime?: unknown };
      items.push({ id, lastUpdateDateTime });
    } else {
      items.push(item);
    }
  }
  rememberRawJson(items, span.elements);
  return { ...body, value: items as T[] };
}
