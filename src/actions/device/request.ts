import { ConfigError } from '../../config/account.js';
import { MDE_PERMISSIONS } from '../../microsoft/mdeDevices.js';

/** What each param.action does in Defender: the machine action, its body and the permission it needs. */
export interface DeviceActionSpec {
  /** URL segment of POST /api/machines/{id}/<segment>. */
  segment: string;
  /** machineAction.type of what it creates. */
  type: string;
  /** The opposite action: the two share one state (isolated or not), judged by the latest of either. */
  opposite?: string;
  permission: string;
  label: string;
}

export const DEVICE_ACTIONS: Record<string, DeviceActionSpec> = {
  isolate: { segment: 'isolate', type: 'Isolate', opposite: 'Unisolate', permission: MDE_PERMISSIONS.isolate, label: 'Isolation' },
  release: { segment: 'unisolate', type: 'Unisolate', opposite: 'Isolate', permission: MDE_PERMISSIONS.isolate, label: 'Release from isolation' },
  av_scan: { segment: 'runAntiVirusScan', type: 'RunAntiVirusScan', permission: MDE_PERMISSIONS.scan, label: 'Antivirus scan' },
  collect_package: { segment: 'collectInvestigationPackage', type: 'CollectInvestigationPackage', permission: MDE_PERMISSIONS.collect, label: 'Investigation package collection' },
  restrict_apps: { segment: 'restrictCodeExecution', type: 'RestrictCodeExecution', opposite: 'UnrestrictCodeExecution', permission: MDE_PERMISSIONS.restrict, label: 'App execution restriction' },
  unrestrict_apps: { segment: 'unrestrictCodeExecution', type: 'UnrestrictCodeExecution', opposite: 'RestrictCodeExecution', permission: MDE_PERMISSIONS.restrict, label: 'Removal of the app restriction' },
  stop_quarantine_file: { segment: 'StopAndQuarantineFile', type: 'StopAndQuarantineFile', permission: MDE_PERMISSIONS.quarantine, label: 'Stop and quarantine file' },
};

/**
 * action=cancel: `POST /api/machineactions/{id}/cancel` on a machine action named by its id.
 * Microsoft accepts any one of these permissions for it.
 */
export const CANCEL_PERMISSIONS = [MDE_PERMISSIONS.isolate, MDE_PERMISSIONS.scan, MDE_PERMISSIONS.collect, MDE_PERMISSIONS.restrict, MDE_PERMISSIONS.quarantine, 'Machine.Offboard', 'Machine.LiveResponse'];
export const CANCEL_ACTION: DeviceActionSpec = {
  segment: 'cancel',
  type: 'Cancel',
  permission: `${CANCEL_PERMISSIONS.slice(0, 5).join(', ')} (any one of them)`,
  label: 'Cancellation',
};
/** Every value param.action takes. */
export const ACTION_NAMES = [...Object.keys(DEVICE_ACTIONS), 'cancel'];

export interface DeviceRequest {
  account: string;
  action: string;
  spec: DeviceActionSpec;
  isolationType: 'Full' | 'Selective';
  scanType: 'Quick' | 'Full';
  comment: string;
  /** Result field with the Defender machine id, a host name or an IP address. */
  deviceField: string;
  /** stop_quarantine_file: result field with the SHA-1. */
  sha1Field: string;
  /** cancel: result field with the machine action id (a GUID). */
  actionIdField: string;
  maxDevices: number;
  requestsPerMinute: number;
  /** How long the run follows the actions it started before reporting their status. */
  waitSeconds: number;
  resultIndex: string;
}

export const DEVICE_DEFAULTS = { deviceField: 'dest', sha1Field: 'file_hash', actionIdField: 'machine_action_id', maxDevices: 20, requestsPerMinute: 50, waitSeconds: 60, resultIndex: 'cim_modactions' } as const;
/** Ceilings whatever the configuration says: Microsoft allows 100 calls a minute and 1,500 an hour. */
export const DEVICE_LIMITS = { maxDevices: 200, requestsPerMinute: 100, waitSeconds: 180, commentLength: 1000 } as const;

export function text(configuration: Record<string, unknown>, key: string): string | undefined {
  const value = configuration[key];
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

export function count(configuration: Record<string, unknown>, key: string, fallback: number, max: number, problems: string[], min = 1): number {
  const value = text(configuration, key);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    problems.push(`${key}: "${value}" is not a whole number of at least ${min}.`);
    return fallback;
  }
  return Math.min(Number(value), max);
}

export function fieldName(configuration: Record<string, unknown>, key: string, fallback: string, problems: string[]): string {
  const value = text(configuration, key) ?? fallback;
  if (!/^[A-Za-z_][\w.{}:@-]*$/.test(value)) problems.push(`${key}: "${value.slice(0, 40)}" is not a field name.`);
  return value;
}

/** Checks everything the user chose; throws one ConfigError naming every problem, before any call. */
export function parseDeviceRequest(configuration: Record<string, unknown>): DeviceRequest {
  const problems: string[] = [];
  const account = text(configuration, 'account');
  if (!account) problems.push('account: required; the name of an account configured in the add-on.');
  const action = text(configuration, 'action');
  const spec = action === 'cancel' ? CANCEL_ACTION : action ? DEVICE_ACTIONS[action] : undefined;
  if (!action) problems.push(`action: required; one of ${ACTION_NAMES.join(', ')}.`);
  else if (!spec) problems.push(`action: "${action}" is not one of ${ACTION_NAMES.join(', ')}.`);
  const isolationType = text(configuration, 'isolation_type') ?? 'Full';
  if (isolationType !== 'Full' && isolationType !== 'Selective') problems.push(`isolation_type: "${isolationType}" is not Full or Selective.`);
  const scanType = text(configuration, 'scan_type') ?? 'Quick';
  if (scanType !== 'Quick' && scanType !== 'Full') problems.push(`scan_type: "${scanType}" is not Quick or Full.`);
  const comment = text(configuration, 'comment');
  if (!comment) problems.push('comment: required; Defender records it with the action (e.g. the notable and the analyst).');
  else if (comment.length > DEVICE_LIMITS.commentLength) problems.push(`comment: longer than ${DEVICE_LIMITS.commentLength} characters.`);
  const deviceField = fieldName(configuration, 'device_field', DEVICE_DEFAULTS.deviceField, problems);
  const sha1Field = fieldName(configuration, 'sha1_field', DEVICE_DEFAULTS.sha1Field, problems);
  const actionIdField = fieldName(configuration, 'action_id_field', DEVICE_DEFAULTS.actionIdField, problems);
  const maxDevices = count(configuration, 'max_devices', DEVICE_DEFAULTS.maxDevices, DEVICE_LIMITS.maxDevices, problems);
  const requestsPerMinute = count(configuration, 'requests_per_minute', DEVICE_DEFAULTS.requestsPerMinute, DEVICE_LIMITS.requestsPerMinute, problems);
  const waitSeconds = count(configuration, 'wait_seconds', DEVICE_DEFAULTS.waitSeconds, DEVICE_LIMITS.waitSeconds, problems, 0);
  const resultIndex = text(configuration, 'result_index') ?? DEVICE_DEFAULTS.resultIndex;
  if (!/^[a-z0-9_][a-z0-9_-]*$/.test(resultIndex)) problems.push(`result_index: "${resultIndex.slice(0, 40)}" is not an index name.`);
  if (problems.length) throw new ConfigError(`defender_device_action: invalid configuration, nothing was sent to Defender. ${problems.join(' ')}`);
  return {
    account: account!, action: action!, spec: spec!, isolationType: isolationType as 'Full' | 'Selective', scanType: scanType as 'Quick' | 'Full',
    comment: comment!, deviceField, sha1Field, actionIdField, maxDevices, requestsPerMinute, waitSeconds, resultIndex,
  };
}
