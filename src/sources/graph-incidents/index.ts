import { HttpError } from '../../http/errors.js';
import { GraphClient, type GraphList } from '../../microsoft/graph.js';
import { ALERTS_PATH } from '../graph-alerts/definition.js';
import type { Logger } from '../../splunk/log.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { graphWindowQuery } from '../graphQuery.js';
import type { Page, WindowQuery } from '../window.js';
import { itemJson } from '../serialize.js';
import { eventTimeMs, windowedPoll } from '../windowedPoll.js';
import { INCIDENTS_PATH } from './definition.js';

export const INCIDENT_SOURCETYPE = 'ms:defender:incident';
/** Graph rejects $top above 50 on incidents. */
const PAGE_SIZE = 50;
/** The expansion's 500 is persistent where it happens: fall back after one more try; throttling keeps the full policy. */
const FAIL_FAST_ON_500 = { maxAttemptsByStatus: { 500: 2 } };

export interface GraphIncident {
  id: string;
  lastUpdateDateTime: string;
  alerts?: unknown[];
  [property: string]: unknown;
}

/**
 * Lists incidents with $expand=alerts; when that fails server-side (persistent 500s with a
 * $filter on large tenants), lists them without the expansion and reads each new incident's
 * alerts on its own, so incidents still arrive with their alerts.
 */
export async function pollIncidents(ctx: PollContext): Promise<PollSummary> {
  const graph = new GraphClient(ctx.http, ctx.tokens, ctx.account.endpoints.graphUrl, 'SecurityIncident.Read.All');
  // The fallback's last resort reads alerts_v2, which needs its own permission.
  const alertsGraph = new GraphClient(ctx.http, ctx.tokens, ctx.account.endpoints.graphUrl, 'SecurityAlert.Read.All');
  const base = { path: INCIDENTS_PATH, pageSize: PAGE_SIZE, extraFilter: ctx.params.filter };
  const expanded = graphWindowQuery<GraphIncident>(graph, { ...base, extraQuery: { $expand: 'alerts' }, retry: FAIL_FAST_ON_500 });
  const plain = graphWindowQuery<GraphIncident>(graph, base);
  const mode = { expand: true };
  const query = withExpandFallback(expanded, plain, mode, ctx.logger);

  const summary = await windowedPoll<GraphIncident>(ctx, {
    query,
    lastUpdate: (item) => item.lastUpdateDateTime,
    warmUp: () => graph.warmUp(),
    maxSliceItems: PAGE_SIZE * 10,
    toEvents: async (incidents) => {
      const complete = mode.expand ? incidents : await withAlerts(graph, alertsGraph, incidents, ctx.logger);
      return complete.map((incident) => ({
        timeMs: eventTimeMs(incident.lastUpdateDateTime),
        data: itemJson(incident, ctx.logger),
        sourcetype: INCIDENT_SOURCETYPE,
        index: ctx.params.index || undefined,
      }));
    },
  });
  return { ...summary, expand_fallback: mode.expand ? 0 : 1 };
}

/** Pages of the expanded query until it fails with a server error, then pages of the plain one. */
function withExpandFallback(
  expanded: WindowQuery<GraphIncident>,
  plain: WindowQuery<GraphIncident>,
  mode: { expand: boolean },
  logger: Logger,
): WindowQuery<GraphIncident> {
  const guard = (page: Page<GraphIncident>, from: string, to: string): Page<GraphIncident> => ({
    ...page,
    next: page.next ? () => page.next!().then((p) => guard(p, from, to), (e) => fallBack(e, from, to)) : undefined,
  });
  const fallBack = async (error: unknown, from: string, to: string): Promise<Page<GraphIncident>> => {
    if (!(error instanceof HttpError) || error.status < 500) throw error;
    mode.expand = false;
    logger.warn('Listing incidents with $expand=alerts failed; listing without it and reading each incident\'s alerts separately', { status: error.status });
    // A fresh pass of the window: the pass is then seen as changed and verified again.
    return plain(from, to);
  };
  return async (from, to) => {
    if (!mode.expand) return plain(from, to);
    try {
      return guard(await expanded(from, to), from, to);
    } catch (error) {
      return fallBack(error, from, to);
    }
  };
}

async function withAlerts(graph: GraphClient, alertsGraph: GraphClient, incidents: GraphIncident[], logger: Logger): Promise<GraphIncident[]> {
  const out: GraphIncident[] = [];
  // One at a time: the security API allows ~150 requests a minute per app and tenant.
  for (const incident of incidents) {
    try {
      out.push({ ...incident, alerts: await alertsOf(graph, alertsGraph, incident.id) });
    } catch (error) {
      // Gone since it was listed (merged, deleted): ingest what was listed rather than block the input.
      if (!(error instanceof HttpError) || error.status !== 404) throw error;
      logger.warn('Incident disappeared before its alerts could be read; ingesting it without them', { incident: incident.id });
      out.push(incident);
    }
  }
  return out;
}

/** One incident's alerts: expanded on the single incident, else (server error) from alerts_v2 by incidentId. */
async function alertsOf(graph: GraphClient, alertsGraph: GraphClient, incidentId: string): Promise<unknown[]> {
  try {
    const url = graph.url(`${INCIDENTS_PATH}/${encodeURIComponent(incidentId)}`, { $expand: 'alerts' });
    return (await graph.get<GraphIncident>(url, { retry: FAIL_FAST_ON_500 })).alerts ?? [];
  } catch (error) {
    if (!(error instanceof HttpError) || error.status < 500) throw error;
  }
  const alerts: unknown[] = [];
  let url: string | undefined = alertsGraph.url(ALERTS_PATH, { $filter: `incidentId eq '${incidentId.replace(/'/g, "''")}'`, $top: '1000' });
  while (url) {
    const page: GraphList<unknown> = await alertsGraph.get<GraphList<unknown>>(url);
    alerts.push(...(page.value ?? []));
    url = page['@odata.nextLink'];
  }
  return alerts;
}
