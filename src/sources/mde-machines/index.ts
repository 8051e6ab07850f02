import { mdeClient } from '../../microsoft/mde.js';
import { mdeLedgerDir } from '../../microsoft/mdeBudget.js';
import { machinePages, MDE_PERMISSIONS, OF_WDATP } from '../../microsoft/mdeDevices.js';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { PollContext, PollSummary } from '../pollContext.js';
import { itemJson } from '../serialize.js';
import { isOwnerCheckpoint, OwnerTracker, type OwnerCheckpoint } from './owners.js';

export const MDE_MACHINE_SOURCETYPE = 'ms:defender:endpoint:machine';

/**
 * One event per device per poll: a full snapshot, `_time` = the poll's start. Microsoft's
 * `lastSeen` is the last *full device report* (about daily), so a `lastSeen`-incremental read would
 * see each device once a day at best and drop the ones that report less often; a snapshot costs one
 * call per 10,000 devices and lets the asset search take "the devices seen in the last poll(s)".
 * Pages are emitted as they come: a failed poll has emitted part of a snapshot, never lost anything.
 */
export async function pollMdeMachines(ctx: PollContext): Promise<PollSummary> {
  const client = mdeClient(ctx.http, ctx.tokens, ctx.account, {
    ledgerDir: mdeLedgerDir(ctx.checkpointDir),
    logger: ctx.logger,
    permission: `${MDE_PERMISSIONS.readMachines} ${OF_WDATP}`,
  });
  await client.warmUp();
  const filter = ctx.params.filter?.trim() || undefined;
  // Opt-in: the owner costs one call per device read, so only new or changed devices are read.
  const ownerCap = Number(ctx.params.owner_lookups?.trim() || 0);
  const store = ownerCap > 0 ? new CheckpointStore<OwnerCheckpoint>(ctx.checkpointDir, ctx.stanza, ctx.logger) : undefined;
  const owners = store
    ? new OwnerTracker((await store.load(isOwnerCheckpoint)).state, ownerCap, mdeClient(ctx.http, ctx.tokens, ctx.account, {
      ledgerDir: mdeLedgerDir(ctx.checkpointDir),
      logger: ctx.logger,
      permission: `${MDE_PERMISSIONS.logonUsers} ${OF_WDATP}`,
    }), ctx.logger, new Date(ctx.nowMs).toISOString())
    : undefined;
  let emitted = 0;
  let pages = 0;
  const seen = new Set<string>();
  let duplicates = 0;
  for await (const page of machinePages(client, filter)) {
    pages++;
    // A device moving between pages of a $skip read can appear twice: emitted once per poll.
    const fresh = page.filter((m) => typeof m.id === 'string' && !seen.has(m.id) && seen.add(m.id));
    duplicates += page.length - fresh.length;
    const ownerById = owners ? await owners.ownersFor(fresh) : undefined;
    emitted += await ctx.writer.writeEvents(
      fresh.map((machine) => ({
        timeMs: ctx.nowMs,
        // `owner` is the add-on's (from the device's logon users), added to the API's JSON.
        data: itemJson(ownerById?.has(machine.id) ? { ...machine, owner: ownerById.get(machine.id) } : machine, ctx.logger, ['lastSeen', 'firstSeen']),
        sourcetype: MDE_MACHINE_SOURCETYPE,
        index: ctx.params.index || undefined,
      })),
    );
  }
  // Saved only once the whole snapshot was emitted: a failed poll reads the same devices again.
  if (store && owners) await store.save(owners.state());
  return { emitted, pages, skipped_duplicates: duplicates, repaged: 0, high_water_mark: new Date(ctx.nowMs).toISOString(), mode: 'snapshot', ...(owners?.stats ?? {}) };
}
