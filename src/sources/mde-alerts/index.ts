import { defenderPortalUrl } from '../../microsoft/clouds.js';
import { mdeClient } from '../../microsoft/mde.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { graphWindowQuery } from '../graphQuery.js';
import { itemJson } from '../serialize.js';
import { eventTimeMs, windowedPoll } from '../windowedPoll.js';
import { toSiemRecord } from './siemFormat.js';

export const MDE_ALERT_SOURCETYPE = 'ms:defender:endpoint:alert';
export const SIEM_ALERT_SOURCETYPE = 'ms:defender:siem:alert';
export const MDE_ALERTS_PATH = '/api/alerts';
/**
 * The API serves up to 10,000 a page. A window is read as one page (the API has no $count to
 * verify more), so the page size bounds memory; 2,000 alerts with evidence are a few MB.
 */
export const MDE_PAGE_SIZE = 2000;

export interface MdeAlert {
  id: string;
  lastUpdateTime: string;
  [property: string]: unknown;
}

export function isTrue(value: string | undefined): boolean {
  return /^(true|1|yes|t|y)$/i.test((value ?? '').trim());
}

export async function pollMdeAlerts(ctx: PollContext): Promise<PollSummary> {
  const client = mdeClient(ctx.http, ctx.tokens, ctx.account, { ledgerDir: ctx.checkpointDir, logger: ctx.logger });
  const legacy = isTrue(ctx.params.legacy_siem_format);
  const portal = defenderPortalUrl(ctx.account.cloud);
  const summary = await windowedPoll<MdeAlert>(ctx, {
    query: graphWindowQuery<MdeAlert>(client, {
      path: MDE_ALERTS_PATH,
      pageSize: MDE_PAGE_SIZE,
      extraFilter: ctx.params.filter,
      extraQuery: { $expand: 'evidence' },
      timeProperty: 'lastUpdateTime',
      counted: false,
    }),
    lastUpdate: (alert) => alert.lastUpdateTime,
    warmUp: () => client.warmUp(),
    maxSliceItems: MDE_PAGE_SIZE,
    toEvents: async (alerts) =>
      alerts.map((alert) => ({
        timeMs: eventTimeMs(alert.lastUpdateTime),
        data: legacy ? JSON.stringify(toSiemRecord(alert, portal)) : itemJson(alert, ctx.logger, ['lastUpdateTime', 'alertCreationTime']),
        sourcetype: legacy ? SIEM_ALERT_SOURCETYPE : MDE_ALERT_SOURCETYPE,
        index: ctx.params.index || undefined,
      })),
  });
  return { ...summary, format: legacy ? 'legacy_siem' : 'alerts_api' };
}
