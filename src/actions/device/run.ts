import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpClient } from '../../http/client.js';
import { AuthenticationError } from '../../microsoft/auth.js';
import { PermissionError } from '../../microsoft/graph.js';
import { errorMessage, FINAL_ACTION_STATUSES, machineAction, machineActions, MDE_PERMISSIONS, NO_5XX_RETRY, type MachineAction } from '../../microsoft/mdeDevices.js';
import { exitWhenDone } from '../../splunk/exitCode.js';
import type { Logger } from '../../splunk/log.js';
import { RateLimiter } from '../rateLimiter.js';
import { ModActionAudit, type ResultLink } from '../mde/modAction.js';
import { fieldValues, readResultRows } from '../mde/resultRows.js';
import { processIo, runModAction, type ModActionIo, type ModActionStart } from '../mde/entry.js';
import { openMdeSession } from '../mde/session.js';
import { cancelActions, cancelTargetsOf } from './cancel.js';
import { parseDeviceRequest, type DeviceRequest } from './request.js';
import { identifierKind, resolveDevice } from './resolve.js';
import { abort, failed, LEVEL, OK_OUTCOMES, outOfTime, throttledOut, type DeviceOutcome, type RunContext, type Target } from './targets.js';

export type { DeviceOutcome } from './targets.js';

export const ACTION_NAME = 'defender_device_action';
/** splunkd stops an action after maxtime (5 min): no new call after this, so the summary is still written. */
export const TIME_BUDGET_MS = 270_000;
const MAX_ROWS = 10_000;

/** Runs defender_device_action as splunkd's sendmodalert starts it; returns the exit code. */
export async function runDeviceAction(io: ModActionIo = processIo()): Promise<number> {
  return runModAction(ACTION_NAME, io, run);
}

async function run({ payload, logger: startLogger, write, base, started, env, audit: auditInto }: ModActionStart): Promise<number> {
  let logger = startLogger;
  const audit = (request?: DeviceRequest) => auditInto(request?.resultIndex ?? 'cim_modactions');
  let request: DeviceRequest;
  try {
    // Everything the user chose is checked before anything is read from splunkd or sent to Defender.
    request = parseDeviceRequest(payload.configuration);
  } catch (error) {
    logger.error((error as Error).message);
    audit().message(`Refused: ${(error as Error).message}`, 'failure', { rid: '0', orig_sid: payload.result?.orig_sid, orig_rid: payload.result?.orig_rid });
    return 1;
  }
  const es = audit(request);
  let http: HttpClient | undefined;
  try {
    const { rows, total } = await readResultRows(payload, MAX_ROWS);
    const { targets, invalid } = request.action === 'cancel' ? cancelTargetsOf(rows, request) : targetsOf(rows, request);
    const session = await openMdeSession(payload, request.account, write, { ...base, device_action: request.action }, env, started + TIME_BUDGET_MS);
    logger = session.logger;
    http = session.http;
    if (total > rows.length) logger.warn(`More than ${MAX_ROWS} results: only the first ${MAX_ROWS} are read`, { results: total });
    for (const t of invalid) report(logger, es, request, t);
    if (targets.length === 0 && invalid.length === 0) {
      logger.warn(`No device in the results (field ${request.deviceField}); nothing to do`, { results: total });
      return 0;
    }
    const todo = targets.slice(0, request.maxDevices);
    for (const t of targets.slice(request.maxDevices)) {
      t.outcome = 'skipped_cap';
      t.message = `more devices than max_devices (${request.maxDevices}); not tried`;
    }
    const ctx: RunContext = {
      request,
      reader: session.client(MDE_PERMISSIONS.readMachines),
      writer: session.client(request.spec.permission),
      pace: new RateLimiter(request.requestsPerMinute),
      deadlineMs: started + TIME_BUDGET_MS,
      logger,
    };
    await (request.action === 'cancel' ? cancelActions(ctx, todo) : act(ctx, todo));
    await followUp(ctx, todo);
    for (const t of targets) report(logger, es, request, t);
    const all = [...targets, ...invalid];
    const counts: Record<string, number> = {};
    for (const t of all) counts[t.outcome!] = (counts[t.outcome!] ?? 0) + 1;
    const notDone = all.filter((t) => !OK_OUTCOMES.includes(t.outcome!)).length;
    const file = es.flush();
    for (const problem of es.problems) logger.warn(problem);
    const line = `${ACTION_NAME} finished: ${(counts.succeeded ?? 0) + (counts.pending ?? 0)} requested, ${(counts.already_pending ?? 0) + (counts.already_done ?? 0)} already requested or done, ${notDone} not done`;
    const fields = { account: session.account.name, results: total, devices: all.length, ...counts, es_results: file ? es.resultCount : 0, ...session.http.stats, duration_ms: Date.now() - started };
    if (notDone) logger.warn(line, fields);
    else logger.info(line, fields);
    return notDone ? 1 : 0;
  } catch (error) {
    const err = error as Error;
    logger.error(`${ACTION_NAME} failed: ${err.message}`, { error: err.name, duration_ms: Date.now() - started });
    es.message(`Failed: ${err.message}`, 'failure', { rid: '0', orig_sid: payload.result?.orig_sid, orig_rid: payload.result?.orig_rid });
    return 1;
  } finally {
    await http?.close();
  }
}

/** The devices of the results, each once (with its SHA-1 for quarantine), and the results that cannot name one. */
function targetsOf(rows: { rid: string; fields: Record<string, string> }[], request: DeviceRequest): { targets: Target[]; invalid: Target[] } {
  const byKey = new Map<string, Target>();
  const invalid: Target[] = [];
  for (const row of rows) {
    const link: ResultLink = { rid: row.rid, orig_sid: row.fields.orig_sid || undefined, orig_rid: row.fields.orig_rid || undefined };
    const devices = fieldValues(row.fields, request.deviceField);
    if (devices.length === 0) {
      invalid.push({ value: '', links: [link], outcome: 'invalid', message: `no value in the device field ${request.deviceField}` });
      continue;
    }
    let hashes: (string | undefined)[] = [undefined];
    if (request.action === 'stop_quarantine_file') {
      hashes = fieldValues(row.fields, request.sha1Field);
      const bad = hashes.filter((h) => !/^[0-9a-fA-F]{40}$/.test(h!));
      if (hashes.length === 0 || bad.length) {
        invalid.push({ value: devices.join(','), links: [link], outcome: 'invalid', message: hashes.length ? `"${bad[0]!.slice(0, 70)}" in ${request.sha1Field} is not a SHA-1 (40 hex digits); Defender quarantines by SHA-1 only` : `no SHA-1 in the field ${request.sha1Field}` });
        continue;
      }
    }
    for (const device of devices) {
      if (identifierKind(device) === 'invalid') {
        invalid.push({ value: device, links: [link], outcome: 'invalid', message: `"${device.slice(0, 70)}" in ${request.deviceField} is not a machine id, a host name or an IP address` });
        continue;
      }
      for (const sha1 of hashes) {
        const key = `${device.toLowerCase()}|${sha1?.toLowerCase() ?? ''}`;
        const target = byKey.get(key) ?? { value: device, sha1: sha1?.toLowerCase(), links: [] };
        target.links.push(link);
        byKey.set(key, target);
      }
    }
  }
  return { targets: [...byKey.values()], invalid };
}

const isActive = (a: MachineAction) => a.status === 'Pending' || a.status === 'InProgress';

/**
 * What to do on one machine given its earlier actions (newest first): never a second request while
 * one is pending or running (Microsoft has left devices isolated after a duplicate isolate), never a
 * release while an isolation is still pending, nothing when the latest of the pair already did it.
 */
export function decide(request: DeviceRequest, earlier: MachineAction[], sha1?: string): { send: true } | { send: false; outcome: DeviceOutcome; message: string; action: MachineAction } {
  const { spec } = request;
  const relevant = earlier.filter((a) => a.type === spec.type || a.type === spec.opposite);
  if (spec.opposite) {
    const latest = relevant[0];
    if (latest?.type === spec.type && isActive(latest)) return { send: false, outcome: 'already_pending', message: `${spec.label} is already ${latest.status} (machine action ${latest.id}); not sent again`, action: latest };
    if (latest?.type === spec.type && latest.status === 'Succeeded') return { send: false, outcome: 'already_done', message: `${spec.label} already succeeded (machine action ${latest.id}, ${latest.lastUpdateDateTimeUtc ?? latest.creationDateTimeUtc}); nothing to do`, action: latest };
    if (latest?.type === spec.opposite && isActive(latest)) {
      return { send: false, outcome: 'conflict', message: `a ${latest.type} action is still ${latest.status} (machine action ${latest.id}); not sent, so the two cannot complete out of order. Run again once it has ended, or cancel it (action=cancel with machine action id ${latest.id})`, action: latest };
    }
    return { send: true };
  }
  const pending = relevant.find((a) => isActive(a) && (!sha1 || !('relatedFileInfo' in a) || (a as { relatedFileInfo?: { fileIdentifier?: string } | null }).relatedFileInfo?.fileIdentifier?.toLowerCase() === sha1));
  if (pending) return { send: false, outcome: 'already_pending', message: `${spec.label} is already ${pending.status} (machine action ${pending.id}); not sent again`, action: pending };
  return { send: true };
}

function body(request: DeviceRequest, sha1?: string): Record<string, string> {
  // Microsoft: body property names are case-sensitive.
  const b: Record<string, string> = { Comment: request.comment };
  if (request.action === 'isolate') b.IsolationType = request.isolationType;
  if (request.action === 'av_scan') b.ScanType = request.scanType;
  if (request.action === 'stop_quarantine_file' && sha1) b.Sha1 = sha1;
  return b;
}

/** Resolves each device, looks at its earlier actions, and sends what is needed, one device after another. */
async function act(ctx: RunContext, targets: Target[]): Promise<void> {
  const { request, reader, writer, pace } = ctx;
  const doneByMachine = new Map<string, Target>();
  for (const [index, t] of targets.entries()) {
    if (throttledOut(ctx, targets, index) || outOfTime(ctx, targets, index, 'device')) return;
    let step = 'resolve';
    try {
      await pace.take();
      const resolved = await resolveDevice(reader, t.value);
      if (resolved.kind !== 'machine') {
        t.outcome = resolved.kind;
        t.message = resolved.message;
        continue;
      }
      t.machineId = resolved.machine.id;
      t.machineName = resolved.machine.computerDnsName ?? undefined;
      // Two names (or a name and an IP) of one machine: one request, the same outcome for both.
      const same = doneByMachine.get(`${t.machineId}|${t.sha1 ?? ''}`);
      if (same) {
        Object.assign(t, { outcome: same.outcome === 'pending' || same.outcome === 'succeeded' ? 'already_pending' : same.outcome, message: `same machine as ${same.value}: ${same.message ?? same.outcome}`, action: same.action });
        continue;
      }
      doneByMachine.set(`${t.machineId}|${t.sha1 ?? ''}`, t);
      step = 'read earlier actions';
      await pace.take();
      const earlier = await machineActions(reader, t.machineId, [request.spec.type, ...(request.spec.opposite ? [request.spec.opposite] : [])]);
      const decision = decide(request, earlier, t.sha1);
      if (!decision.send) {
        Object.assign(t, { outcome: decision.outcome, message: decision.message, action: decision.action });
        continue;
      }
      step = request.spec.segment;
      await pace.take();
      t.action = await writer.post<MachineAction>(writer.url(`/api/machines/${t.machineId}/${request.spec.segment}`), body(request, t.sha1), { retry: NO_5XX_RETRY });
      t.outcome = 'pending';
      t.message = `${request.spec.label} requested (machine action ${t.action.id}, ${t.action.status})`;
    } catch (error) {
      // Every further call would be refused the same way: the run stops, the rest is reported as skipped.
      if (error instanceof PermissionError) return abort(targets, index, t, error.message, 'forbidden', step);
      if (error instanceof AuthenticationError) return abort(targets, index, t, error.message, 'failed', step);
      failed(ctx, t, step, error);
    }
  }
}

/** Follows the actions this run started until each has ended or wait_seconds have passed (SOAR's _status_wait). */
async function followUp(ctx: RunContext, targets: Target[]): Promise<void> {
  const open = () => targets.filter((t) => t.outcome === 'pending' && t.action && !FINAL_ACTION_STATUSES.includes(t.action.status));
  // Not while Defender asked the app to wait longer than this run can: the actions stay reported as requested.
  const deadline = (ctx.throttledUntilMs ?? 0) >= ctx.deadlineMs ? 0 : Math.min(ctx.deadlineMs, Date.now() + ctx.request.waitSeconds * 1000);
  const everyMs = Math.min(5000, Math.max(500, (ctx.request.waitSeconds * 1000) / 10));
  while (open().length && Date.now() + everyMs <= deadline) {
    await sleep(everyMs);
    for (const t of open()) {
      try {
        await ctx.pace.take();
        t.action = await machineAction(ctx.reader, t.action!.id);
      } catch (error) {
        ctx.logger.warn('Cannot read the status of a machine action; reported as last seen', { machine_action_id: t.action!.id, error: errorMessage(error) });
      }
    }
  }
  // A cancellation succeeds when the action it cancels ends Cancelled.
  const wanted = ctx.request.action === 'cancel' ? 'Cancelled' : 'Succeeded';
  for (const t of targets.filter((x) => x.outcome === 'pending' && x.action)) {
    const status = t.action!.status;
    if (status === wanted) {
      t.outcome = 'succeeded';
      t.message = `${ctx.request.spec.label} succeeded (machine action ${t.action!.id})`;
    } else if (FINAL_ACTION_STATUSES.includes(status)) {
      t.outcome = 'failed';
      t.message = ctx.request.action === 'cancel'
        ? `machine action ${t.action!.id} (${t.action!.type}) ended ${status} before the cancellation took effect`
        : `${ctx.request.spec.label} ended ${status} (machine action ${t.action!.id})`;
    } else {
      t.message = deadline === 0
        ? `${ctx.request.spec.label} requested (machine action ${t.action!.id}, ${status}); not followed: Defender throttled the app past this run's time budget; follow it in the Defender portal`
        : `${ctx.request.spec.label} requested and still ${status} after ${ctx.request.waitSeconds} s (machine action ${t.action!.id}); follow it in the Defender portal`;
    }
  }
}

/** The outcome of one device: the add-on's log line, and per result ES's audit line and Common Action Model result. */
function report(logger: Logger, es: ModActionAudit, request: DeviceRequest, t: Target): void {
  const outcome = t.outcome ?? 'skipped';
  const fields = {
    device: t.value || undefined, machine_id: t.machineId, machine_name: t.machineName, sha1: t.sha1, outcome,
    machine_action_id: t.action?.id, machine_action_status: t.action?.status, results: t.links.length,
  };
  const text = t.message ?? outcome;
  logger[LEVEL[outcome]](`Device action ${outcome}: ${text}`, fields);
  const status = OK_OUTCOMES.includes(outcome) ? 'success' : 'failure';
  for (const link of t.links) {
    es.message(text, status, link, { device: t.value, machine_id: t.machineId, device_action: request.action, outcome, machine_action_id: t.action?.id });
    es.addResult(link, { device_action: request.action, dest: t.machineName ?? t.value, device: t.value, machine_id: t.machineId, outcome, action_status: status, machine_action_id: t.action?.id, machine_action_status: t.action?.status, message: text, sha1: t.sha1 });
  }
}

/** Runs the action as the process. */
export function main(): void {
  exitWhenDone(runDeviceAction());
}
