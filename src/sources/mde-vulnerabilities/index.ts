import { sharedRateLimiter } from '../../http/rateLimiter.js';
import { GraphClient, type GraphList } from '../../microsoft/graph.js';
import { MDE_PERMISSIONS, OF_WDATP } from '../../microsoft/mdeDevices.js';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { itemJson } from '../serialize.js';

export const MDE_VULNERABILITY_SOURCETYPE = 'ms:defender:endpoint:vulnerability';
const EXPORT_PATH = '/api/machines/SoftwareVulnerabilitiesByMachine';
const DELTA_PATH = '/api/machines/SoftwareVulnerabilityChangesByMachine';
/** Microsoft: at most 200,000 a page, about 1 KB each; 20,000 keeps a page near 20 MB. */
const PAGE_SIZE = 20_000;
/** The export API's own documented limits (per app and tenant), stricter than the alerts API's. */
const EXPORT_LIMITS = [{ limit: 30, windowMs: 60_000 }, { limit: 1000, windowMs: 3_600_000 }];
/** Changes are computed in 6-hour batches; a delta from sinceTime returns the whole batch it falls in. */
const BATCH_MS = 6 * 3_600_000;
const DELTA_MAX_MS = 14 * 86_400_000;

interface VulnerabilityCheckpoint {
  /** Start of the poll that last completed: the next delta's sinceTime. */
  sinceTime: string;
  /** When the last full export completed. */
  fullAt: string;
  /** Changes already emitted from the batch the next sinceTime falls in (id|status|eventTimestamp). */
  seen: string[];
}

interface Record_ {
  id: string;
  status?: string;
  eventTimestamp?: string;
  [key: string]: unknown;
}

const isCheckpoint = (v: unknown): v is VulnerabilityCheckpoint =>
  typeof v === 'object' && v !== null && typeof (v as VulnerabilityCheckpoint).sinceTime === 'string' && typeof (v as VulnerabilityCheckpoint).fullAt === 'string' && Array.isArray((v as VulnerabilityCheckpoint).seen);

/** "2020-11-03 10:13:34.8476880" (UTC, per the examples) as epoch ms. */
export function exportTimeMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(`${text.trim().replace(' ', 'T').replace(/(\.\d{3})\d*$/, '$1')}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Full snapshot, then deltas. Microsoft documents both exports as JSON pages linked by
 * @odata.nextLink, the full one a snapshot refreshed every 6 hours, the delta the New/Fixed/Updated
 * records since a time at most 14 days back. A full export runs on the first poll, every
 * full_snapshot_days, and whenever the last completed poll is too old for a delta. The checkpoint
 * moves only after every page of a poll was emitted: a failed poll is read again, never skipped.
 */
export async function pollMdeVulnerabilities(ctx: PollContext): Promise<PollSummary> {
  const { mdeUrl, mdeResource } = ctx.account.endpoints;
  if (!mdeUrl || !mdeResource) throw new Error(`Account "${ctx.account.name}" has no Defender for Endpoint API host.`);
  const budget = `${ctx.account.tenantId.toLowerCase()}|${ctx.account.clientId.toLowerCase()}|mde-vulnerability-export`;
  const client = new GraphClient(ctx.http, ctx.tokens, mdeUrl, `${MDE_PERMISSIONS.vulnerabilities} ${OF_WDATP}`, {
    service: 'The Defender for Endpoint API',
    resource: mdeResource,
    headers: {},
    rateLimiter: sharedRateLimiter(budget, EXPORT_LIMITS),
  });
  const store = new CheckpointStore<VulnerabilityCheckpoint>(ctx.checkpointDir, ctx.stanza, ctx.logger);
  const { state } = await store.load(isCheckpoint);
  const fullEveryMs = Number(ctx.params.full_snapshot_days?.trim() || 7) * 86_400_000;
  const since = state ? Date.parse(state.sinceTime) : NaN;
  const full = !state || ctx.nowMs - Date.parse(state.fullAt) >= fullEveryMs || !(ctx.nowMs - since < DELTA_MAX_MS - BATCH_MS);
  const seenBefore = new Set(state?.seen ?? []);
  const nextBatchStart = Math.floor(ctx.nowMs / BATCH_MS) * BATCH_MS;
  const seen: string[] = [];
  let emitted = 0;
  let pages = 0;
  let duplicates = 0;
  let url: string | undefined = full ? client.url(EXPORT_PATH, { pageSize: String(PAGE_SIZE) }) : client.url(DELTA_PATH, { sinceTime: state!.sinceTime, pageSize: String(PAGE_SIZE) });
  await client.warmUp();
  while (url) {
    const page: GraphList<Record_> = await client.get<GraphList<Record_>>(url);
    pages++;
    const fresh: Record_[] = [];
    for (const record of page.value ?? []) {
      if (full) {
        fresh.push(record);
        continue;
      }
      const key = `${record.id}|${record.status ?? ''}|${record.eventTimestamp ?? ''}`;
      if (seenBefore.has(key)) {
        duplicates++;
        continue;
      }
      fresh.push(record);
      if ((exportTimeMs(record.eventTimestamp) ?? 0) >= nextBatchStart) seen.push(key);
    }
    emitted += await ctx.writer.writeEvents(
      fresh.map((record) => ({
        // A change is placed at its eventTimestamp; a snapshot record at the poll that read it.
        timeMs: (!full && exportTimeMs(record.eventTimestamp)) || ctx.nowMs,
        data: itemJson(record, ctx.logger, ['eventTimestamp', 'lastSeenTimestamp']),
        sourcetype: MDE_VULNERABILITY_SOURCETYPE,
        index: ctx.params.index || undefined,
      })),
    );
    url = page['@odata.nextLink'];
  }
  const nowIso = new Date(ctx.nowMs).toISOString();
  await store.save({ sinceTime: nowIso, fullAt: full ? nowIso : state!.fullAt, seen });
  return { emitted, pages, skipped_duplicates: duplicates, repaged: 0, high_water_mark: nowIso, mode: full ? 'full_snapshot' : 'delta' };
}
