import type { RetryPolicy } from '../http/retry.js';
import type { GraphClient, GraphList } from '../microsoft/graph.js';
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
}

/** The OData filter of one closed window; the admin's clause is parenthesised so its `or` cannot escape. */
export function windowFilter(from: string, to: string, extraFilter?: string, timeProperty = 'lastUpdateDateTime'): string {
  const window = `${timeProperty} ge ${from} and ${timeProperty} lt ${to}`;
  return extraFilter?.trim() ? `${window} and (${extraFilter.trim()})` : window;
}

/** A WindowQuery over an OData list: $filter on the window, $count on every page, @odata.nextLink followed verbatim. */
export function graphWindowQuery<T>(graph: GraphClient, options: GraphQueryOptions): WindowQuery<T> {
  const counted = options.counted ?? true;
  const toPage = (body: GraphList<T>, query: Record<string, string>, skip: number): Page<T> => {
    // A proxy or a broken answer must fail the poll loudly, not be read as an empty page.
    if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
      throw new Error(`${options.path} answered without a "value" array; is a proxy answering for Microsoft?`);
    }
    const items = body.value.filter((item): item is T => typeof item === 'object' && item !== null);
    const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    const nextSkip = skip + body.value.length;
    const next = nextLink
      ? async () => toPage(await graph.get<GraphList<T>>(nextLink, { retry: options.retry }), query, nextSkip)
      : !counted && body.value.length >= options.pageSize
        ? async () => toPage(await graph.get<GraphList<T>>(graph.url(options.path, { ...query, $skip: String(nextSkip) }), { retry: options.retry }), query, nextSkip)
        : undefined;
    return { items, count: typeof body['@odata.count'] === 'number' ? body['@odata.count'] : -1, next };
  };
  return async (from, to) => {
    const query: Record<string, string> = {
      $filter: windowFilter(from, to, options.extraFilter, options.timeProperty),
      $top: String(options.pageSize),
      ...(counted ? { $count: 'true' } : {}),
      ...options.extraQuery,
    };
    return toPage(await graph.get<GraphList<T>>(graph.url(options.path, query), { retry: options.retry }), query, 0);
  };
}
