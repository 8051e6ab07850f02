import { GraphClient } from '../../microsoft/graph.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { graphWindowQuery } from '../graphQuery.js';
import { startPageParser } from '../pageParser.js';
import { itemJson } from '../serialize.js';
import { ALERTS_PATH } from './definition.js';
import { eventTimeMs, windowedPoll } from '../windowedPoll.js';

export const ALERT_SOURCETYPE = 'ms:defender:alert';
/** alerts_v2 serves at most 1000 per page. */
const PAGE_SIZE = 1000;

export interface GraphAlert {
  id: string;
  lastUpdateDateTime: string;
  [property: string]: unknown;
}

export async function pollAlerts(ctx: PollContext): Promise<PollSummary> {
  const graph = new GraphClient(ctx.http, ctx.tokens, ctx.account.endpoints.graphUrl, 'SecurityAlert.Read.All');
  const base = { path: ALERTS_PATH, pageSize: PAGE_SIZE, extraFilter: ctx.params.filter, identityOnly: true };
  return windowedPoll<GraphAlert>(ctx, {
    query: graphWindowQuery<GraphAlert>(graph, base),
    // Oldest change first: one request per page for any backlog, and no offsets to shift.
    ascendingQuery: graphWindowQuery<GraphAlert>(graph, { ...base, ascending: true }),
    pageSize: PAGE_SIZE,
    lastUpdate: (item) => item.lastUpdateDateTime,
    warmUp: () => graph.warmUp(),
    // The worker then starts while the token is fetched; otherwise with the first page that needs it.
    backlogLikely: startPageParser,
    maxSliceItems: PAGE_SIZE * 10,
    toEvents: async (alerts) =>
      alerts.map((alert) => ({
        timeMs: eventTimeMs(alert.lastUpdateDateTime),
        data: itemJson(alert, ctx.logger),
        sourcetype: ALERT_SOURCETYPE,
        index: ctx.params.index || undefined,
      })),
  });
}
