/**
 * The Defender for Endpoint alerts API (`GET /api/alerts`) of the simulator, served by
 * GraphSimulator on the same https host under `/api/`:
 *
 *  - alerts in the API's own shape (PascalCase enums, numeric incidentId, flat `evidence` items
 *    with `entityType` and every property present, null when unused), derived from the same
 *    realistic documents as the Graph alerts;
 *  - `$filter` on the documented properties, `$top` up to 10,000 (also the page cap), `$skip`,
 *    `$expand=evidence`, `@odata.nextLink` while more remain; no `$count`, as documented;
 *  - the documented budget per application and tenant (100 calls a minute, 1,500 an hour):
 *    beyond it 429 with Retry-After; errors as `{"error":{"code","message","target"}}`;
 *  - tokens for the WindowsDefenderATP resource only, and the Alert.Read.All role.
 */
import { randomUUID } from 'node:crypto';
import { DocumentGenerator, TICKS_PER_MS, dateToTicks, type Alert, type AlertEvidence } from './documents.js';
import { ODataFilterError, evaluateFilter, formatTicks, parseFilter, toTicks, type FilterNode, type FilterSchema } from './odata.js';
import { ServiceError } from './serviceError.js';
import { MdeDevicesApi } from './mdeDevices.js';

export interface MdeEvidence {
  entityType: string;
  evidenceCreationTime: string;
  sha1: string | null;
  sha256: string | null;
  fileName: string | null;
  filePath: string | null;
  processId: number | null;
  processCommandLine: string | null;
  processCreationTime: string | null;
  parentProcessId: number | null;
  parentProcessCreationTime: string | null;
  parentProcessFileName: string | null;
  parentProcessFilePath: string | null;
  ipAddress: string | null;
  url: string | null;
  registryKey: string | null;
  registryHive: string | null;
  registryValueType: string | null;
  registryValue: string | null;
  accountName: string | null;
  domainName: string | null;
  userSid: string | null;
  aadUserId: string | null;
  userPrincipalName: string | null;
  detectionStatus: string | null;
}

export interface MdeAlert {
  id: string;
  incidentId: number;
  investigationId: number | null;
  assignedTo: string | null;
  severity: string;
  status: string;
  classification: string | null;
  determination: string | null;
  investigationState: string;
  detectionSource: string;
  detectorId: string;
  category: string;
  threatFamilyName: string | null;
  threatName: string | null;
  title: string;
  description: string;
  alertCreationTime: string;
  firstEventTime: string;
  lastEventTime: string;
  lastUpdateTime: string;
  resolvedTime: string | null;
  machineId: string | null;
  computerDnsName: string | null;
  rbacGroupName: string | null;
  aadTenantId: string;
  mitreTechniques: string[];
  relatedUser: { userName: string; domainName: string | null } | null;
  comments: { comment: string; createdBy: string; createdTime: string }[];
  evidence: MdeEvidence[];
}

export interface MdeReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface MdeRequest {
  method: string;
  path: string;
  queryPairs: [string, string][];
  /** The caller's app (tenant + client) and the token's resource, once the token is valid. */
  caller: { tenantId: string; clientId: string; roles: string[]; resource: string };
  baseUrl: string;
  /** The request body (the device routes' POSTs). */
  body?: string;
}

export interface MdeListPageInfo {
  skip: number;
  top: number;
  returned: number;
}

/** Largest `$top`, also the page size when `$top` is absent. */
export const MDE_PAGE_LIMIT = 10_000;
export const MDE_RESOURCES = ['https://api.securitycenter.microsoft.com', 'https://api-gcc.securitycenter.microsoft.us', 'https://api-gov.securitycenter.microsoft.us', 'https://securitycenter.onmicrosoft.com/windowsatpservice'];
const REQUIRED_ROLES = ['Alert.Read.All', 'Alert.ReadWrite.All'];
const CONTENT_TYPE = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8';

const SEVERITIES = ['UnSpecified', 'Informational', 'Low', 'Medium', 'High'];
const STATUSES = ['Unknown', 'New', 'InProgress', 'Resolved'];
const SCHEMA: FilterSchema = {
  typeName: 'microsoft.windowsDefenderATP.api.PublicAlertV2',
  fields: {
    alertCreationTime: { type: 'datetime' },
    lastUpdateTime: { type: 'datetime' },
    lastEventTime: { type: 'datetime' },
    id: { type: 'string' },
    incidentId: { type: 'string' },
    assignedTo: { type: 'string' },
    detectionSource: { type: 'string' },
    category: { type: 'string' },
    status: { type: 'enum', members: STATUSES },
    severity: { type: 'enum', members: SEVERITIES },
  },
};

class MdeError extends ServiceError {}

export class MdeAlertsApi {
  alerts = new Map<string, MdeAlert>();
  /** The documented budget; tests may lower it to reach it quickly. */
  rateLimits = { perMinute: 100, perHour: 1500 };
  /** false: stop at $top without a link, as OData allows; the client must then page by $skip itself. */
  nextLinks = true;
  onListPage?: (info: MdeListPageInfo) => void;
  /** The clock the budget is counted on; tests may share a fake one with the client. */
  now: () => number = () => Date.now();
  private readonly calls = new Map<string, number[]>();
  private lastStampTicks = 0n;
  /** Machines, machine actions, indicators and vulnerabilities (mdeDevices.ts), on this budget. */
  readonly devices: MdeDevicesApi;

  constructor(private readonly generator: DocumentGenerator) {
    this.devices = new MdeDevicesApi((key) => this.spend(key), () => this.now());
  }

  addAlerts(n: number, opts: { at?: Date; spreadMs?: number } = {}): MdeAlert[] {
    const added: MdeAlert[] = [];
    for (let i = 0; i < n; i++) {
      const base = dateToTicks(opts.at ?? new Date());
      const ticks = base - this.generator.randomTicks(BigInt(Math.max(0, Math.floor(opts.spreadMs ?? 0))) * TICKS_PER_MS);
      const alert = toMdeAlert(this.generator.alert({ createdTicks: ticks, lastUpdateTicks: ticks, incidentId: this.generator.nextIncidentId(), template: 'mde' }));
      this.alerts.set(alert.id, alert);
      added.push(alert);
    }
    return added;
  }

  /** Stores given documents (Microsoft's documented examples, say), served exactly as written, keyed by their `id`. */
  seedDocuments(documents: readonly Record<string, unknown>[]): void {
    for (const document of documents) {
      if (typeof document.id !== 'string') throw new Error('MdeAlertsApi.seedDocuments: every document needs a string id');
      this.alerts.set(document.id, document as unknown as MdeAlert);
    }
  }

  /** Sets lastUpdateTime (to `at`, or a strictly increasing now), then applies `patch`. */
  updateAlert(id: string, patch: Partial<MdeAlert> = {}, at?: Date): MdeAlert {
    const current = this.alerts.get(id);
    if (!current) throw new Error(`MdeAlertsApi: no alert '${id}'`);
    let stamp: string;
    if (at) stamp = formatTicks(dateToTicks(at));
    else {
      const now = dateToTicks(new Date());
      this.lastStampTicks = now > this.lastStampTicks ? now : this.lastStampTicks + 1n;
      stamp = formatTicks(this.lastStampTicks);
    }
    const updated: MdeAlert = { ...current, lastUpdateTime: stamp, ...patch };
    if (updated.status === 'Resolved' && current.status !== 'Resolved' && !('resolvedTime' in patch)) updated.resolvedTime = stamp;
    this.alerts.set(id, updated);
    return updated;
  }

  /** Forgets the calls counted so far (a new minute and hour for every app). */
  resetBudget(): void {
    this.calls.clear();
  }

  handle(req: MdeRequest): MdeReply {
    const requestId = randomUUID();
    try {
      return this.route(req, requestId);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      return {
        status: error.status,
        headers: { 'Content-Type': 'application/json; charset=utf-8', ...error.headers },
        body: JSON.stringify({ error: { code: error.code, message: error.message, target: requestId } }),
      };
    }
  }

  private route(req: MdeRequest, requestId: string): MdeReply {
    const segments = req.path.split('/').filter(Boolean);
    if (!MDE_RESOURCES.includes(req.caller.resource) && req.caller.resource !== req.baseUrl.toLowerCase()) {
      // Microsoft: a token for another audience is refused with 403 even on a valid API host.
      throw new MdeError(403, 'Forbidden', 'The access token audience is not valid for this API.');
    }
    if (MdeDevicesApi.handles(segments)) return this.devices.route({ ...req, segments });
    if (segments.length !== 2 || segments[1]!.toLowerCase() !== 'alerts') throw new MdeError(404, 'ResourceNotFound', `Resource ${req.path} wasn't found.`);
    if (req.method !== 'GET') throw new MdeError(405, 'MethodNotAllowed', `The HTTP method '${req.method}' is not supported by this simulator.`);
    if (!REQUIRED_ROLES.some((r) => req.caller.roles.includes(r))) {
      throw new MdeError(403, 'Forbidden', `The application does not have any of the required application permissions (${REQUIRED_ROLES.join(', ')}) to access the resource.`);
    }
    this.spend(`${req.caller.tenantId}|${req.caller.clientId}`.toLowerCase());
    return this.list(req, requestId);
  }

  /** Counts an accepted call against the app's budget, or refuses it with 429 and the wait. */
  private spend(key: string): void {
    const now = this.now();
    const history = (this.calls.get(key) ?? []).filter((t) => t > now - 3_600_000);
    this.calls.set(key, history);
    const lastMinute = history.filter((t) => t > now - 60_000);
    let waitMs = 0;
    if (lastMinute.length >= this.rateLimits.perMinute) waitMs = lastMinute[lastMinute.length - this.rateLimits.perMinute]! + 60_000 - now;
    if (history.length >= this.rateLimits.perHour) waitMs = Math.max(waitMs, history[history.length - this.rateLimits.perHour]! + 3_600_000 - now);
    if (waitMs > 0) {
      throw new MdeError(429, 'TooManyRequests', 'API calls quota exceeded! Maximum allowed calls per minute: ' + `${this.rateLimits.perMinute}, per hour: ${this.rateLimits.perHour}.`, {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    history.push(now);
  }

  private list(req: MdeRequest, requestId: string): MdeReply {
    const options = parseOptions(req.queryPairs);
    const matching = [...this.alerts.values()]
      .filter((a) => !options.filter || evaluateFilter(options.filter, a))
      // Newest first by creation, ties by id: offsets shift when items leave the filter.
      .sort((a, b) => (a.alertCreationTime === b.alertCreationTime ? (a.id < b.id ? -1 : 1) : a.alertCreationTime < b.alertCreationTime ? 1 : -1));
    const page = matching.slice(options.skip, options.skip + options.top);
    const body: Record<string, unknown> = {
      '@odata.context': `${req.baseUrl}/api/$metadata#Alerts`,
      value: page.map((a) => (options.expand ? a : { ...a, evidence: [] })),
    };
    if (this.nextLinks && options.skip + page.length < matching.length) {
      const pairs = req.queryPairs.filter(([k]) => k.toLowerCase().replace(/^\$/, '') !== 'skip');
      pairs.push(['$skip', String(options.skip + page.length)]);
      body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${pairs.map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v)}`).join('&')}`;
    }
    this.onListPage?.({ skip: options.skip, top: options.top, returned: page.length });
    return { status: 200, headers: { 'Content-Type': CONTENT_TYPE, 'OData-Version': '4.0', 'request-id': requestId }, body: JSON.stringify(body) };
  }
}

interface ListOptions {
  top: number;
  skip: number;
  expand: boolean;
  filter?: FilterNode;
}

function parseOptions(pairs: [string, string][]): ListOptions {
  const options = new Map<string, string>();
  for (const [key, value] of pairs) {
    const name = key.toLowerCase().replace(/^\$/, '');
    if (options.has(name)) throw new MdeError(400, 'ODataError', `Invalid OData query: the query option '$${name}' appears more than once.`);
    options.set(name, value);
  }
  for (const name of options.keys()) {
    if (['count', 'orderby', 'select', 'search'].includes(name)) throw new MdeError(400, 'ODataError', `Invalid OData query: the query option '$${name}' is not supported.`);
  }
  const top = nonNegative(options.get('top'), '$top') ?? MDE_PAGE_LIMIT;
  if (top > MDE_PAGE_LIMIT) throw new MdeError(400, 'ODataError', `Invalid OData query: the limit of '${MDE_PAGE_LIMIT}' for Top query has been exceeded. The value from the incoming request is '${top}'.`);
  const expandText = options.get('expand')?.trim();
  if (expandText && expandText.toLowerCase() !== 'evidence') throw new MdeError(400, 'ODataError', `Invalid OData query: could not find a property named '${expandText}'.`);
  let filter: FilterNode | undefined;
  const filterText = options.get('filter');
  if (filterText !== undefined) {
    try {
      filter = parseFilter(filterText, SCHEMA);
    } catch (error) {
      if (error instanceof ODataFilterError) throw new MdeError(400, 'ODataError', `Invalid OData query filter: ${error.message}`);
      throw error;
    }
  }
  return { top, skip: nonNegative(options.get('skip'), '$skip') ?? 0, expand: Boolean(expandText), filter };
}

function nonNegative(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new MdeError(400, 'ODataError', `Invalid OData query: ${name} must be a non-negative integer, got '${raw}'.`);
  return Number(raw);
}

// ---------------------------------------------------------------------------------------
// Graph alert -> Defender for Endpoint alert

const pascal = (value: string): string => value.charAt(0).toUpperCase() + value.slice(1);

const DETERMINATIONS: Record<string, string> = {
  compromisedAccount: 'CompromisedUser', notMalicious: 'Clean', notEnoughDataToValidate: 'InsufficientData', confirmedActivity: 'ConfirmedUserActivity',
};
const DETECTION_SOURCES: Record<string, string> = {
  antivirus: 'WindowsDefenderAv', microsoftDefenderForEndpoint: 'WindowsDefenderAtp', automatedInvestigation: 'AutomatedInvestigation',
  customDetection: 'CustomDetection', smartScreen: 'WindowsDefenderSmartScreen',
};
const INVESTIGATION_STATES = ['Queued', 'Running', 'PendingApproval', 'SuccessfullyRemediated', 'Benign', 'UnsupportedAlertType'];

function emptyEvidence(entityType: string, created: string): MdeEvidence {
  return {
    entityType, evidenceCreationTime: created, sha1: null, sha256: null, fileName: null, filePath: null, processId: null, processCommandLine: null,
    processCreationTime: null, parentProcessId: null, parentProcessCreationTime: null, parentProcessFileName: null, parentProcessFilePath: null,
    ipAddress: null, url: null, registryKey: null, registryHive: null, registryValueType: null, registryValue: null, accountName: null,
    domainName: null, userSid: null, aadUserId: null, userPrincipalName: null, detectionStatus: null,
  };
}

function toMdeEvidence(e: AlertEvidence): MdeEvidence | undefined {
  const kind = e['@odata.type'].replace('#microsoft.graph.security.', '');
  const created = e.createdDateTime;
  const r = e as unknown as Record<string, Record<string, unknown> & { [k: string]: unknown }>;
  const status = (v: unknown) => (typeof v === 'string' ? pascal(v) : null);
  switch (kind) {
    case 'processEvidence': {
      const image = r.imageFile ?? {};
      const parent = r.parentProcessImageFile ?? {};
      return {
        ...emptyEvidence('Process', created), sha1: (image.sha1 as string) ?? null, sha256: (image.sha256 as string) ?? null,
        fileName: (image.fileName as string) ?? null, filePath: (image.filePath as string) ?? null, processId: r.processId as unknown as number,
        processCommandLine: r.processCommandLine as unknown as string, processCreationTime: r.processCreationDateTime as unknown as string,
        parentProcessId: r.parentProcessId as unknown as number, parentProcessCreationTime: r.parentProcessCreationDateTime as unknown as string,
        parentProcessFileName: (parent.fileName as string) ?? null, parentProcessFilePath: (parent.filePath as string) ?? null,
        detectionStatus: status(r.detectionStatus),
      };
    }
    case 'fileEvidence': {
      const file = r.fileDetails ?? {};
      return {
        ...emptyEvidence('File', created), sha1: (file.sha1 as string) ?? null, sha256: (file.sha256 as string) ?? null,
        fileName: (file.fileName as string) ?? null, filePath: (file.filePath as string) ?? null, detectionStatus: status(r.detectionStatus),
      };
    }
    case 'userEvidence': {
      const user = r.userAccount ?? {};
      return {
        ...emptyEvidence('User', created), accountName: (user.accountName as string) ?? null, domainName: (user.domainName as string) ?? null,
        userSid: (user.userSid as string) ?? null, aadUserId: (user.azureAdUserId as string) ?? null, userPrincipalName: (user.userPrincipalName as string) ?? null,
      };
    }
    case 'ipEvidence': return { ...emptyEvidence('Ip', created), ipAddress: r.ipAddress as unknown as string };
    case 'urlEvidence': return { ...emptyEvidence('Url', created), url: r.url as unknown as string };
    case 'registryKeyEvidence': return { ...emptyEvidence('Registry', created), registryKey: r.registryKey as unknown as string, registryHive: r.registryHive as unknown as string };
    default: return undefined; // devices are the alert's machineId; other kinds are not MDE evidence
  }
}

/** The Defender for Endpoint view of one of the generator's Defender for Endpoint alerts. */
export function toMdeAlert(a: Alert): MdeAlert {
  const device = a.evidence.find((e) => e['@odata.type'] === '#microsoft.graph.security.deviceEvidence') as Extract<AlertEvidence, { deviceDnsName: string }> | undefined;
  const user = a.evidence.find((e) => e['@odata.type'] === '#microsoft.graph.security.userEvidence') as Extract<AlertEvidence, { userAccount: unknown; primaryAddress?: never }> | undefined;
  const digits = a.id.replace(/\D/g, '');
  const pick = Number(digits.slice(-3)) || 0;
  return {
    id: a.id,
    incidentId: Number(a.incidentId),
    investigationId: pick % 3 === 0 ? null : 700_000 + (pick % 997),
    assignedTo: a.assignedTo,
    severity: a.severity === 'unknown' || a.severity === 'unknownFutureValue' ? 'UnSpecified' : pascal(a.severity),
    status: pascal(a.status),
    classification: a.classification === 'unknown' ? null : pascal(a.classification),
    determination: a.determination === 'unknown' ? null : (DETERMINATIONS[a.determination] ?? pascal(a.determination)),
    investigationState: INVESTIGATION_STATES[pick % INVESTIGATION_STATES.length]!,
    detectionSource: DETECTION_SOURCES[a.detectionSource] ?? 'WindowsDefenderAtp',
    detectorId: a.detectorId,
    category: a.category,
    threatFamilyName: a.threatFamilyName,
    threatName: a.threatDisplayName,
    title: a.title,
    description: a.description,
    alertCreationTime: a.createdDateTime,
    firstEventTime: a.firstActivityDateTime,
    lastEventTime: a.lastActivityDateTime,
    lastUpdateTime: a.lastUpdateDateTime,
    resolvedTime: a.resolvedDateTime,
    machineId: device?.mdeDeviceId ?? null,
    computerDnsName: device?.deviceDnsName ?? null,
    rbacGroupName: device?.rbacGroupName ?? null,
    aadTenantId: a.tenantId,
    mitreTechniques: [...a.mitreTechniques],
    relatedUser: user && 'userAccount' in user ? { userName: user.userAccount.accountName, domainName: user.userAccount.domainName } : null,
    comments: a.comments.map((c) => ({ comment: c.comment, createdBy: c.createdByDisplayName, createdTime: c.createdDateTime })),
    evidence: a.evidence.map(toMdeEvidence).filter((e): e is MdeEvidence => e !== undefined),
  };
}

/** Ticks of an MDE timestamp, for tests that order alerts. */
export function mdeTicks(iso: string): bigint {
  return toTicks(iso) ?? 0n;
}
