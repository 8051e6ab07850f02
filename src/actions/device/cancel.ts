import { AuthenticationError } from '../../microsoft/auth.js';
import { PermissionError } from '../../microsoft/graph.js';
import { FINAL_ACTION_STATUSES, machineAction, NO_5XX_RETRY, type MachineAction } from '../../microsoft/mdeDevices.js';
import type { ResultLink } from '../mde/modAction.js';
import { fieldValues, type ResultRow } from '../mde/resultRows.js';
import type { DeviceRequest } from './request.js';
import { abort, failed, outOfTime, throttledOut, type RunContext, type Target } from './targets.js';

/** Machine action ids are GUIDs (Microsoft's machineAction resource: `ID | Guid`). */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The machine actions the results name (each once), and the results that name none or something else. */
export function cancelTargetsOf(rows: ResultRow[], request: DeviceRequest): { targets: Target[]; invalid: Target[] } {
  const byId = new Map<string, Target>();
  const invalid: Target[] = [];
  for (const row of rows) {
    const link: ResultLink = { rid: row.rid, orig_sid: row.fields.orig_sid || undefined, orig_rid: row.fields.orig_rid || undefined };
    const ids = fieldValues(row.fields, request.actionIdField);
    if (ids.length === 0) invalid.push({ value: '', links: [link], outcome: 'invalid', message: `no machine action id in the field ${request.actionIdField}` });
    for (const id of ids) {
      if (!GUID.test(id)) {
        invalid.push({ value: id, links: [link], outcome: 'invalid', message: `"${id.slice(0, 70)}" in ${request.actionIdField} is not a machine action id (a GUID such as 988cc94e-7a8f-4b28-ab65-54970c5d5018); nothing sent` });
        continue;
      }
      const target = byId.get(id.toLowerCase()) ?? { value: id.toLowerCase(), links: [] };
      target.links.push(link);
      byId.set(id.toLowerCase(), target);
    }
  }
  return { targets: [...byId.values()], invalid };
}

/**
 * Cancels each machine action that has not ended. Microsoft's cancel applies to an action "that
 * isn't yet in final state" and documents no answer for one that is: the action is read first, and
 * one that has ended is reported as it ended, with nothing sent.
 */
export async function cancelActions(ctx: RunContext, targets: Target[]): Promise<void> {
  const { request, reader, writer, pace } = ctx;
  for (const [index, t] of targets.entries()) {
    if (throttledOut(ctx, targets, index) || outOfTime(ctx, targets, index, 'machine action')) return;
    let step = 'read the machine action';
    try {
      await pace.take();
      const current = await machineAction(reader, t.value);
      Object.assign(t, { action: current, machineId: current.machineId, machineName: current.computerDnsName ?? undefined });
      if (current.status === 'Cancelled') {
        Object.assign(t, { outcome: 'already_done', message: `machine action ${current.id} (${current.type}) is already Cancelled; nothing sent` });
        continue;
      }
      if (FINAL_ACTION_STATUSES.includes(current.status)) {
        Object.assign(t, { outcome: 'ended', message: `machine action ${current.id} (${current.type}) already ended ${current.status}; a finished action cannot be cancelled, nothing sent` });
        continue;
      }
      step = 'cancel';
      await pace.take();
      t.action = await writer.post<MachineAction>(writer.url(`/api/machineactions/${encodeURIComponent(t.value)}/cancel`), { Comment: request.comment }, { retry: NO_5XX_RETRY });
      if (t.action.status === 'Cancelled') {
        Object.assign(t, { outcome: 'succeeded', message: `Cancellation succeeded (machine action ${t.action.id}, ${t.action.type})` });
      } else {
        Object.assign(t, { outcome: 'pending', message: `Cancellation requested (machine action ${t.action.id}, ${t.action.type}, ${t.action.status})` });
      }
    } catch (error) {
      if (error instanceof PermissionError) return abort(targets, index, t, error.message, 'forbidden', step);
      if (error instanceof AuthenticationError) return abort(targets, index, t, error.message, 'failed', step);
      failed(ctx, t, step, error);
    }
  }
}
