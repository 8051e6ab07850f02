import type { RequestOptions } from '../http/client.js';
import { HttpError } from '../http/errors.js';
import type { GraphClient, GraphList } from './graph.js';

/**
 * Application permissions of the WindowsDefenderATP API that the device features need; named in
 * every 403 so an admin knows exactly what to grant.
 */
export const MDE_PERMISSIONS = {
  readMachines: 'Machine.Read.All',
  isolate: 'Machine.Isolate',
  scan: 'Machine.Scan',
  collect: 'Machine.CollectForensics',
  restrict: 'Machine.RestrictExecution',
  quarantine: 'Machine.StopAndQuarantine',
  indicators: 'Ti.ReadWrite',
  vulnerabilities: 'Vulnerability.Read.All',
  /** GET /api/machines/{id}/logonusers (the asset owner). */
  logonUsers: 'User.Read.All',
} as const;

export const OF_WDATP = 'of the WindowsDefenderATP API (API permissions > Add a permission > APIs my organization uses > WindowsDefenderATP)';

/** The fields of a machine (GET /api/machines) the add-on reads; the rest is kept as it came. */
export interface Machine {
  id: string;
  computerDnsName?: string | null;
  lastSeen?: string | null;
  lastIpAddress?: string | null;
  lastExternalIpAddress?: string | null;
  ipAddresses?: { ipAddress?: string | null; macAddress?: string | null }[] | null;
  [property: string]: unknown;
}

export interface MachineAction {
  id: string;
  type: string;
  status: string;
  machineId: string;
  computerDnsName?: string | null;
  scope?: string | null;
  requestor?: string | null;
  requestorComment?: string | null;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc?: string;
}

/** The statuses after which a machine action no longer changes. */
export const FINAL_ACTION_STATUSES = ['Succeeded', 'Failed', 'TimeOut', 'Cancelled'];

export const MACHINES_PATH = '/api/machines';
export const MACHINES_PAGE_SIZE = 10_000;

/** A POST that reached Microsoft may have been carried out even when the answer was a 5xx: never repeated. */
export const NO_5XX_RETRY: NonNullable<RequestOptions['retry']> = { maxAttemptsByStatus: { 408: 1, 500: 1, 502: 1, 503: 1, 504: 1 } };

/**
 * Every page of a machines query, following `@odata.nextLink` (or `$skip` when a full page comes
 * without one). Microsoft answers 404 when no device matches ("no recent devices"): that is an
 * empty result, not an error.
 */
export async function* machinePages(client: GraphClient, filter?: string, pageSize = MACHINES_PAGE_SIZE): AsyncGenerator<Machine[]> {
  let url: string | undefined = client.url(MACHINES_PATH, { $filter: filter, $top: String(pageSize) });
  let skip = 0;
  while (url) {
    let page: GraphList<Machine>;
    try {
      page = await client.get<GraphList<Machine>>(url);
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return;
      throw error;
    }
    const value = Array.isArray(page.value) ? page.value : [];
    yield value;
    skip += value.length;
    url = page['@odata.nextLink'] ?? (value.length === pageSize ? client.url(MACHINES_PATH, { $filter: filter, $top: String(pageSize), $skip: String(skip) }) : undefined);
  }
}

/** OData string literal: a single quote is doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The actions of a machine (optionally of some types), newest first (the API documents no order). */
export async function machineActions(client: GraphClient, machineId: string, types: string[] = []): Promise<MachineAction[]> {
  const typeClause = types.length ? ` and (${types.map((t) => `type eq ${odataString(t)}`).join(' or ')})` : '';
  const url = client.url('/api/machineactions', { $filter: `machineId eq ${odataString(machineId)}${typeClause}` });
  const actions: MachineAction[] = [];
  for (let next: string | undefined = url; next; ) {
    const page: GraphList<MachineAction> = await client.get<GraphList<MachineAction>>(next);
    actions.push(...(page.value ?? []));
    next = page['@odata.nextLink'];
  }
  return actions.sort((a, b) => Date.parse(b.creationDateTimeUtc) - Date.parse(a.creationDateTimeUtc));
}

export async function machineAction(client: GraphClient, id: string): Promise<MachineAction> {
  return client.get<MachineAction>(client.url(`/api/machineactions/${encodeURIComponent(id)}`));
}

/** The error code of a Defender API answer (`{"error":{"code"}}`), e.g. ActiveRequestAlreadyExists. */
export function errorCode(error: unknown): string | undefined {
  if (!(error instanceof HttpError)) return undefined;
  return (error.body as { error?: { code?: string } } | undefined)?.error?.code;
}

export function errorMessage(error: unknown): string {
  if (error instanceof HttpError) {
    const detail = (error.body as { error?: { message?: string } } | undefined)?.error?.message;
    return detail ? `${detail} (HTTP ${error.status})` : error.message;
  }
  return (error as Error).message;
}
