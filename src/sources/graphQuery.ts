import type { RetryPolicy } from '../http/retry.js';
import type { GraphClient, GraphList } from '../microsoft/graph.js';
import { arrayElementTexts, rememberRawJson } from './rawJson.js';
import type { Page, WindowQuery } from './window.js';

export interface GraphQueryOptions {
  path: string;
  pageSize: number;
  /** The input's optional extra $filter clause. */
  extraFilter?: string;
  extraQuery?: Record<string, string>;
  retry?: Partial<RetryPolicy>;
}

/** The OData filter of one closed window; the admin's clause is parenthesised so its `or` cannot escape. */
export function windowFilter(from: string, to: string, extraFilter?: string): string {
  const window = `lastUpdateDateTime ge ${from} and lastUpdateDateTime lt ${to}`;
  return extraFilter?.trim() ? `${window} and (${extraFilter.trim()})` : window;
}

/** A WindowQuery over a Graph list: $filter on the window, $count on every page, @odata.nextLink followed verbatim. */
export function graphWindowQuery<T>(graph: GraphClient, options: GraphQueryOptions): WindowQuery<T> {
  const toPage = ({ body, text }: { body: GraphList<T>; text: string }): Page<T> => {
    // A proxy or a broken answer must fail the poll loudly, not be read as an empty page.
    if (typeof body !== 'object' || body === null || !Array.isArray(body.value)) {
      throw new Error(`${options.path} answered without a "value" array; is a proxy answering for Microsoft Graph?`);
    }
    rememberRawJson(body.value, arrayElementTexts(text, 'value'));
    const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
    return {
      items: body.value.filter((item): item is T => typeof item === 'object' && item !== null),
      count: typeof body['@odata.count'] === 'number' ? body['@odata.count'] : -1,
      next: nextLink ? async () => toPage(await graph.getWithText<GraphList<T>>(nextLink, { retry: options.retry })) : undefined,
    };
  };
  return async (from, to) => {
    const url = graph.url(options.path, {
      $filter: windowFilter(from, to, options.extraFilter),
      $top: String(options.pageSize),
      $count: 'true',
      ...options.extraQuery,
    });
    return toPage(await graph.getWithText<GraphList<T>>(url, { retry: options.retry }));
  };
}
