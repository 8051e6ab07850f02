/**
 * The device side of the Defender for Endpoint API in the simulator, served by MdeAlertsApi
 * (mde.ts) on the same host and budget:
 *
 *  - `GET /api/machines`: `$filter` on the documented properties, `$top` ≤ 10,000 (also the page
 *    cap), `$skip`, `@odata.nextLink`; **404 when no device matches** (Microsoft: "If no recent
 *    devices found - 404 Not Found"); `GET /api/machines/{id}`;
 *  - response actions `POST /api/machines/{id}/{isolate|unisolate|runAntiVirusScan|
 *    collectInvestigationPackage|restrictCodeExecution|unrestrictCodeExecution|StopAndQuarantineFile}`
 *    with case-sensitive bodies, 201 + machineAction, the status moving Pending → InProgress →
 *    Succeeded (or Failed) over time, 400 `ActiveRequestAlreadyExists` while one of the same kind is
 *    pending or running, 403 without the action's permission; `GET /api/machineactions/{id}`,
 *    `GET /api/machineactions?$filter=machineId eq '…' and type eq '…'`,
 *    `POST /api/machineactions/{id}/cancel` (a pending or running action becomes Cancelled);
 *  - `GET /api/machines/{id}/logonusers` (User.Read.All; 404 for an unknown machine);
 *  - `POST /api/indicators` (upsert on type + value, 15,000 per tenant), `GET /api/indicators`;
 *  - the vulnerability export `GET /api/machines/SoftwareVulnerabilitiesByMachine` (pageSize ≤
 *    200,000, `$skiptoken` nextLink) and its delta `SoftwareVulnerabilityChangesByMachine?sinceTime=`
 *    (≤ 14 days back), with their own 30/min and 1,000/h on top of the shared budget.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ODataFilterError, evaluateFilter, parseFilter, type FieldSpec, type FilterNode, type FilterSchema } from './odata.js';
import { ServiceError } from './serviceError.js';

export class MdeDeviceError extends ServiceError {}

export interface MachineIp {
  ipAddress: string;
  macAddress: string | null;
  type: string;
  operationalStatus: string;
}

export interface Machine {
  id: string;
  computerDnsName: string;
  firstSeen: string;
  lastSeen: string;
  osPlatform: string;
  osVersion: string | null;
  osProcessor: string;
  version: string;
  lastIpAddress: string;
  lastExternalIpAddress: string;
  agentVersion: string;
  osBuild: number;
  healthStatus: string;
  deviceValue: string;
  rbacGroupId: number;
  rbacGroupName: string;
  riskScore: string;
  exposureLevel: string;
  isAadJoined: boolean;
  aadDeviceId: string | null;
  machineTags: string[];
  onboardingStatus: string;
  isPotentialDuplication: boolean;
  mergedIntoMachineId: string | null;
  ipAddresses: MachineIp[];
}

export interface MachineAction {
  id: string;
  type: string;
  title: string | null;
  requestor: string;
  requestorComment: string;
  status: string;
  machineId: string;
  computerDnsName: string;
  creationDateTimeUtc: string;
  lastUpdateDateTimeUtc: string;
  cancellationRequestor: string | null;
  cancellationComment: string | null;
  cancellationDateTimeUtc: string | null;
  errorHResult: number;
  scope: string | null;
  externalId: string | null;
  requestSource: string;
  relatedFileInfo: { fileIdentifier: string; fileIdentifierType: string } | null;
  commands: unknown[];
  troubleshootInfo: string | null;
}

/** A user of GET /api/machines/{id}/logonusers, as in Microsoft's example. */
export interface LogonUser {
  id: string;
  accountName: string;
  accountDomain: string;
  firstSeen: string;
  lastSeen: string;
  logonTypes: string;
  isDomainAdmin: boolean;
  isOnlyNetworkUser: boolean;
}

export interface Indicator {
  id: string;
  indicatorValue: string;
  indicatorType: string;
  action: string;
  application: string | null;
  source: string;
  sourceType: string;
  title: string;
  creationTimeDateTimeUtc: string;
  createdBy: string;
  expirationTime: string | null;
  lastUpdateTime: string;
  lastUpdatedBy: string;
  severity: string;
  description: string;
  recommendedActions: string | null;
  rbacGroupNames: string[];
  generateAlert: boolean;
}

export interface Vulnerability {
  id: string;
  deviceId: string;
  rbacGroupName: string;
  deviceName: string;
  osPlatform: string;
  osVersion: string | null;
  osArchitecture: string;
  softwareVendor: string;
  softwareName: string;
  softwareVersion: string;
  cveId: string | null;
  cvssScore: number | null;
  vulnerabilitySeverityLevel: string | null;
  recommendedSecurityUpdate: string | null;
  recommendedSecurityUpdateId: string | null;
  recommendedSecurityUpdateUrl: string | null;
  diskPaths: string[];
  registryPaths: string[];
  lastSeenTimestamp: string;
  firstSeenTimestamp: string;
  exploitabilityLevel: string;
  recommendationReference: string;
  securityUpdateAvailable: boolean;
}

export interface VulnerabilityChange extends Vulnerability {
  status: 'New' | 'Fixed' | 'Updated';
  eventTimestamp: string;
}

/** What the shared API hands the device routes. */
export interface DeviceRequest {
  method: string;
  segments: string[];
  path: string;
  queryPairs: [string, string][];
  body?: string;
  caller: { tenantId: string; clientId: string; roles: string[] };
  baseUrl: string;
}

export interface DeviceReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Documented response actions: URL segment → machineAction type, the permission, the body it needs. */
export const MACHINE_ACTIONS: Record<string, { type: string; permission: string; body: Record<string, readonly string[] | 'string' | 'sha1'> }> = {
  isolate: { type: 'Isolate', permission: 'Machine.Isolate', body: { IsolationType: ['Full', 'Selective', 'UnManagedDevice'] } },
  unisolate: { type: 'Unisolate', permission: 'Machine.Isolate', body: {} },
  runAntiVirusScan: { type: 'RunAntiVirusScan', permission: 'Machine.Scan', body: { ScanType: ['Quick', 'Full'] } },
  collectInvestigationPackage: { type: 'CollectInvestigationPackage', permission: 'Machine.CollectForensics', body: {} },
  restrictCodeExecution: { type: 'RestrictCodeExecution', permission: 'Machine.RestrictExecution', body: {} },
  unrestrictCodeExecution: { type: 'UnrestrictCodeExecution', permission: 'Machine.RestrictExecution', body: {} },
  StopAndQuarantineFile: { type: 'StopAndQuarantineFile', permission: 'Machine.StopAndQuarantine', body: { Sha1: 'sha1' } },
};

export const INDICATOR_TYPES = ['FileSha1', 'FileSha256', 'FileMd5', 'CertificateThumbprint', 'IpAddress', 'DomainName', 'Url'];
export const INDICATOR_ACTIONS = ['Warn', 'Block', 'Audit', 'Alert', 'AlertAndBlock', 'BlockAndRemediate', 'Allowed'];
export const INDICATOR_CAP = 15_000;
export const VULNERABILITY_PAGE_LIMIT = 200_000;
const MACHINE_PAGE_LIMIT = 10_000;
const READ_MACHINES = ['Machine.Read.All', 'Machine.ReadWrite.All'];
const TI_ROLES = ['Ti.ReadWrite', 'Ti.ReadWrite.All'];
/** Microsoft's cancel page: any one of the machine action permissions. */
const CANCEL_ROLES = ['Machine.CollectForensics', 'Machine.Isolate', 'Machine.RestrictExecution', 'Machine.Scan', 'Machine.Offboard', 'Machine.StopAndQuarantine', 'Machine.LiveResponse'];
const VULN_ROLES = ['Vulnerability.Read.All'];
const CONTENT_TYPE = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8';

const MACHINE_SCHEMA: FilterSchema = {
  typeName: 'microsoft.windowsDefenderATP.api.PublicMachine',
  fields: {
    ...Object.fromEntries(
      ['id', 'version', 'aadDeviceId', 'lastIpAddress', 'osPlatform', 'rbacGroupId', 'deviceValue', 'exposureLevel', 'onboardingStatus', 'healthStatus', 'riskScore'].map(
        (f): [string, FieldSpec] => [f, { type: 'string' }],
      ),
    ),
    // Microsoft's OData examples for /api/machines: startswith(computerDnsName,'mymachine').
    computerDnsName: { type: 'string', startsWith: true },
    lastSeen: { type: 'datetime' },
  },
};
const ACTION_SCHEMA: FilterSchema = {
  typeName: 'microsoft.windowsDefenderATP.api.MachineAction',
  fields: { id: { type: 'string' }, status: { type: 'string' }, machineId: { type: 'string' }, type: { type: 'string' }, requestor: { type: 'string' }, creationDateTimeUtc: { type: 'datetime' } },
};

/** A small deterministic generator, so fixtures and tests see the same fleet for a seed. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x1_0000_0000;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
}

const SOFTWARE = [
  { vendor: 'google', name: 'chrome', version: '118.0.5993.70', cves: [['CVE-2023-5346', 8.8, 'High'], ['CVE-2023-5218', 8.8, 'High']] },
  { vendor: 'mozilla', name: 'firefox', version: '115.0.2', cves: [['CVE-2023-4863', 8.8, 'Critical']] },
  { vendor: 'microsoft', name: 'windows_10', version: '10.0.19045.3448', cves: [['CVE-2023-36884', 8.8, 'High'], ['CVE-2023-38146', 8.8, 'High'], ['CVE-2023-36802', 7.8, 'High']] },
  { vendor: 'oracle', name: 'jre', version: '8.0.3810.9', cves: [['CVE-2023-22045', 3.7, 'Low'], ['CVE-2023-22049', 3.7, 'Low']] },
  { vendor: 'openssl', name: 'openssl', version: '3.0.7', cves: [['CVE-2023-0286', 7.4, 'High'], ['CVE-2023-0215', 5.9, 'Medium']] },
] as const;

export class MdeDevicesApi {
  machines = new Map<string, Machine>();
  actions = new Map<string, MachineAction>();
  indicators = new Map<string, Indicator>();
  /** Logged-on users by machine id; a machine without an entry has none. */
  logonUsers = new Map<string, LogonUser[]>();
  vulnerabilities = new Map<string, Vulnerability>();
  vulnerabilityChanges: VulnerabilityChange[] = [];
  /** How long a new action stays Pending, then InProgress, before it ends (ms). */
  actionTimings = { pendingMs: 300, runningMs: 300 };
  /** Machines whose actions end Failed instead of Succeeded. */
  failingMachines = new Set<string>();
  /** Machines whose actions stay Pending (an offline device). */
  offlineMachines = new Set<string>();
  /** Per tenant; tests may lower it. */
  indicatorCap = INDICATOR_CAP;
  /** The vulnerability export's own documented limits, on top of the shared budget. */
  vulnerabilityLimits = { perMinute: 30, perHour: 1000 };
  private readonly vulnCalls = new Map<string, number[]>();
  private rng: Rng;

  constructor(
    private readonly spend: (key: string) => void,
    private readonly now: () => number,
    seed = 7,
  ) {
    this.rng = new Rng(seed);
  }

  /** Adds `n` onboarded machines, seen in the last day; names are `<prefix><i>.contoso.com`. */
  addMachines(n: number, opts: { prefix?: string; lastSeen?: Date; platform?: string; values?: Partial<Machine> } = {}): Machine[] {
    const added: Machine[] = [];
    for (let i = 0; i < n; i++) {
      const index = this.machines.size + 1;
      const id = createHash('sha1').update(`machine-${index}-${this.rng.next()}`).digest('hex');
      const platform = opts.platform ?? this.rng.pick(['Windows11', 'Windows10', 'WindowsServer2022', 'WindowsServer2019', 'Linux', 'macOS']);
      const server = platform.startsWith('WindowsServer') || platform === 'Linux';
      const name = `${opts.prefix ?? (server ? 'srv' : 'ws')}${String(index).padStart(4, '0')}`;
      const seen = new Date((opts.lastSeen?.getTime() ?? this.now()) - this.rng.int(20 * 3_600_000));
      const ip = `10.${1 + this.rng.int(20)}.${this.rng.int(250)}.${1 + this.rng.int(250)}`;
      const mac = Array.from({ length: 6 }, () => this.rng.int(256).toString(16).padStart(2, '0')).join('').toUpperCase();
      const machine: Machine = {
        id,
        computerDnsName: platform === 'Linux' ? name : `${name}.contoso.com`,
        firstSeen: new Date(seen.getTime() - 90 * 86_400_000).toISOString(),
        lastSeen: seen.toISOString(),
        osPlatform: platform,
        osVersion: null,
        osProcessor: 'x64',
        version: platform.startsWith('Windows') ? (server ? '1809' : '22H2') : platform === 'Linux' ? '22.04' : '14.1',
        lastIpAddress: ip,
        lastExternalIpAddress: `203.0.113.${1 + this.rng.int(250)}`,
        agentVersion: '10.8760.19041.3570',
        osBuild: 19045,
        healthStatus: this.rng.next() < 0.9 ? 'Active' : 'Inactive',
        deviceValue: server && this.rng.next() < 0.5 ? 'High' : this.rng.next() < 0.1 ? 'Low' : 'Normal',
        rbacGroupId: server ? 2 : 1,
        rbacGroupName: server ? 'Servers' : 'Workstations',
        riskScore: this.rng.pick(['None', 'Low', 'Medium', 'High']),
        exposureLevel: this.rng.pick(['Low', 'Medium', 'High']),
        isAadJoined: !server,
        aadDeviceId: server ? null : randomUUID(),
        machineTags: server ? (this.rng.next() < 0.3 ? ['DomainController', 'Tier0'] : ['Server']) : [],
        onboardingStatus: 'Onboarded',
        isPotentialDuplication: false,
        mergedIntoMachineId: null,
        ipAddresses: [
          { ipAddress: ip, macAddress: mac, type: 'Ethernet', operationalStatus: 'Up' },
          { ipAddress: `fe80::${this.rng.int(0xffff).toString(16)}:${this.rng.int(0xffff).toString(16)}`, macAddress: mac, type: 'Ethernet', operationalStatus: 'Up' },
          { ipAddress: '127.0.0.1', macAddress: null, type: 'SoftwareLoopback', operationalStatus: 'Up' },
        ],
        ...opts.values,
      };
      this.machines.set(machine.id, machine);
      added.push(machine);
    }
    return added;
  }

  /** Records `account` (of domain `contoso`) as logged on to a machine, last seen `lastSeen`. */
  addLogonUser(machineId: string, account: string, lastSeen: Date, opts: { network?: boolean; logonTypes?: string } = {}): LogonUser {
    const user: LogonUser = {
      id: `contoso\\${account}`,
      accountName: account,
      accountDomain: 'contoso',
      firstSeen: new Date(lastSeen.getTime() - 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      lastSeen: lastSeen.toISOString().replace(/\.\d+Z$/, 'Z'),
      logonTypes: opts.logonTypes ?? (opts.network ? 'Network' : 'Interactive'),
      isDomainAdmin: false,
      isOnlyNetworkUser: opts.network ?? false,
    };
    this.logonUsers.set(machineId, [...(this.logonUsers.get(machineId) ?? []).filter((u) => u.id !== user.id), user]);
    return user;
  }

  /** Gives each machine some of the catalogue's vulnerable software; returns the records. */
  addVulnerabilities(machines: Machine[], perMachine = 2): Vulnerability[] {
    const added: Vulnerability[] = [];
    for (const m of machines) {
      for (let k = 0; k < perMachine; k++) {
        const sw = SOFTWARE[(this.rng.int(SOFTWARE.length) + k) % SOFTWARE.length]!;
        for (const [cve, cvss, severity] of sw.cves) {
          const record: Vulnerability = {
            id: `${m.id}_${sw.name}_${sw.version}_${cve}_`,
            deviceId: m.id,
            rbacGroupName: m.rbacGroupName,
            deviceName: m.computerDnsName,
            osPlatform: m.osPlatform,
            osVersion: null,
            osArchitecture: 'x64',
            softwareVendor: sw.vendor,
            softwareName: sw.name,
            softwareVersion: sw.version,
            cveId: cve,
            cvssScore: cvss,
            vulnerabilitySeverityLevel: severity,
            recommendedSecurityUpdate: null,
            recommendedSecurityUpdateId: null,
            recommendedSecurityUpdateUrl: null,
            diskPaths: [],
            registryPaths: [],
            lastSeenTimestamp: stamp(new Date(this.now() - 3_600_000)),
            firstSeenTimestamp: stamp(new Date(this.now() - 30 * 86_400_000)),
            exploitabilityLevel: cvss >= 8.8 ? 'ExploitIsPublic' : 'NoExploit',
            recommendationReference: `va-_-${sw.vendor}-_-${sw.name}`,
            securityUpdateAvailable: true,
          };
          if (this.vulnerabilities.has(record.id)) continue;
          this.vulnerabilities.set(record.id, record);
          added.push(record);
          this.vulnerabilityChanges.push({ ...record, status: 'New', eventTimestamp: stamp(new Date(this.now())) });
        }
      }
    }
    return added;
  }

  /** Removes a vulnerability (the software was patched) and records the Fixed change. */
  fixVulnerability(id: string): void {
    const v = this.vulnerabilities.get(id);
    if (!v) throw new Error(`MdeDevicesApi: no vulnerability '${id}'`);
    this.vulnerabilities.delete(id);
    this.vulnerabilityChanges.push({ ...v, status: 'Fixed', eventTimestamp: stamp(new Date(this.now())) });
  }

  /** True when a path belongs to these routes. */
  static handles(segments: string[]): boolean {
    const second = segments[1]?.toLowerCase();
    return second === 'machines' || second === 'machineactions' || second === 'indicators';
  }

  route(req: DeviceRequest): DeviceReply {
    const [, collection, id, sub, ...rest] = req.segments;
    const key = `${req.caller.tenantId}|${req.caller.clientId}`.toLowerCase();
    const kind = collection!.toLowerCase();
    if (kind === 'machines' && (id === 'SoftwareVulnerabilitiesByMachine' || id === 'SoftwareVulnerabilityChangesByMachine') && sub === undefined) {
      this.requireMethod(req, 'GET');
      this.requireRole(req, VULN_ROLES);
      this.spendVulnerability(key);
      this.spend(key);
      return id === 'SoftwareVulnerabilitiesByMachine' ? this.vulnerabilityExport(req) : this.vulnerabilityDelta(req);
    }
    if (rest.length) throw notFound(req.path);
    if (kind === 'machines') {
      if (id === undefined) {
        this.requireMethod(req, 'GET');
        this.requireRole(req, READ_MACHINES);
        this.spend(key);
        return this.listMachines(req);
      }
      if (sub === undefined) {
        this.requireMethod(req, 'GET');
        this.requireRole(req, READ_MACHINES);
        this.spend(key);
        const machine = this.machines.get(id);
        if (!machine) throw new MdeDeviceError(404, 'ResourceNotFound', `Machine ${id} was not found`);
        return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#Machines/$entity`, ...machine });
      }
      if (sub === 'logonusers') {
        this.requireMethod(req, 'GET');
        this.requireRole(req, ['User.Read.All']);
        this.spend(key);
        // Microsoft: 200 with the list of users, 404 when the device is not found.
        if (!this.machines.has(id)) throw new MdeDeviceError(404, 'ResourceNotFound', `Machine ${id} was not found`);
        return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#Users`, value: this.logonUsers.get(id) ?? [] });
      }
      const spec = MACHINE_ACTIONS[sub];
      if (!spec) throw notFound(req.path);
      this.requireMethod(req, 'POST');
      this.requireRole(req, [spec.permission]);
      this.spend(key);
      return this.startAction(req, id, sub, spec);
    }
    if (kind === 'machineactions' && id !== undefined && sub === 'cancel') {
      this.requireMethod(req, 'POST');
      this.requireRole(req, CANCEL_ROLES);
      this.spend(key);
      return this.cancelAction(req, id);
    }
    if (kind === 'machineactions') {
      this.requireMethod(req, 'GET');
      this.requireRole(req, READ_MACHINES);
      this.spend(key);
      if (id === undefined) return this.listActions(req);
      if (sub !== undefined) throw notFound(req.path);
      const action = this.actions.get(id);
      if (!action) throw new MdeDeviceError(404, 'ResourceNotFound', `Machine action ${id} was not found`);
      return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#MachineActions/$entity`, ...this.current(action) });
    }
    // indicators
    if (id !== undefined) throw notFound(req.path);
    this.requireRole(req, TI_ROLES);
    this.spend(key);
    if (req.method === 'GET') {
      const all = [...this.indicators.values()];
      return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#Indicators`, value: all });
    }
    this.requireMethod(req, 'POST');
    return this.upsertIndicator(req);
  }

  /** The action as a reader sees it now: its status follows the clock. */
  current(action: MachineAction): MachineAction {
    if (action.status !== 'Pending' && action.status !== 'InProgress') return action;
    if (this.offlineMachines.has(action.machineId)) return action;
    const age = this.now() - Date.parse(action.creationDateTimeUtc);
    const { pendingMs, runningMs } = this.actionTimings;
    let status = action.status;
    if (age >= pendingMs + runningMs) status = this.failingMachines.has(action.machineId) ? 'Failed' : 'Succeeded';
    else if (age >= pendingMs) status = 'InProgress';
    if (status !== action.status) {
      action.status = status;
      action.lastUpdateDateTimeUtc = new Date(this.now()).toISOString();
    }
    return action;
  }

  private requireMethod(req: DeviceRequest, method: string): void {
    if (req.method !== method) throw new MdeDeviceError(405, 'MethodNotAllowed', `The HTTP method '${req.method}' is not supported for ${req.path}.`);
  }

  private requireRole(req: DeviceRequest, roles: string[], named?: string): void {
    if (roles.some((r) => req.caller.roles.includes(r))) return;
    throw new MdeDeviceError(403, 'Forbidden', `The application does not have any of the required application permissions (${named ?? roles.join(', ')}) to access the resource.`);
  }

  private spendVulnerability(key: string): void {
    const now = this.now();
    const history = (this.vulnCalls.get(key) ?? []).filter((t) => t > now - 3_600_000);
    this.vulnCalls.set(key, history);
    const minute = history.filter((t) => t > now - 60_000);
    let waitMs = 0;
    if (minute.length >= this.vulnerabilityLimits.perMinute) waitMs = minute[minute.length - this.vulnerabilityLimits.perMinute]! + 60_000 - now;
    if (history.length >= this.vulnerabilityLimits.perHour) waitMs = Math.max(waitMs, history[history.length - this.vulnerabilityLimits.perHour]! + 3_600_000 - now);
    if (waitMs > 0) {
      throw new MdeDeviceError(429, 'TooManyRequests', `API calls quota exceeded! Maximum allowed calls per minute: ${this.vulnerabilityLimits.perMinute}, per hour: ${this.vulnerabilityLimits.perHour}.`, {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    history.push(now);
  }

  private listMachines(req: DeviceRequest): DeviceReply {
    const options = listOptions(req.queryPairs, MACHINE_SCHEMA, MACHINE_PAGE_LIMIT, ['filter', 'top', 'skip']);
    const matching = [...this.machines.values()].filter((m) => !options.filter || evaluateFilter(options.filter, m)).sort((a, b) => (a.id < b.id ? -1 : 1));
    // Microsoft: "If no recent devices found - 404 Not Found".
    if (matching.length === 0) throw new MdeDeviceError(404, 'ResourceNotFound', 'No machines found');
    return page(req, matching, options, 'Machines');
  }

  private listActions(req: DeviceRequest): DeviceReply {
    const options = listOptions(req.queryPairs, ACTION_SCHEMA, MACHINE_PAGE_LIMIT, ['filter', 'top', 'skip']);
    // Stored (creation) order, oldest first: the API documents no order, so clients sort themselves.
    const matching = [...this.actions.values()].map((a) => this.current(a)).filter((a) => !options.filter || evaluateFilter(options.filter, a));
    return page(req, matching, options, 'MachineActions');
  }

  private startAction(req: DeviceRequest, machineId: string, segment: string, spec: (typeof MACHINE_ACTIONS)[string]): DeviceReply {
    const body = jsonObject(req.body);
    const problems: string[] = [];
    if (typeof body.Comment !== 'string' || body.Comment.trim() === '') problems.push("'Comment' is required");
    for (const [name, allowed] of Object.entries(spec.body)) {
      const value = body[name];
      if (allowed === 'sha1') {
        if (typeof value !== 'string' || !/^[0-9a-fA-F]{40}$/.test(value)) problems.push(`'${name}' must be a SHA-1 hash`);
      } else if (allowed !== 'string' && (typeof value !== 'string' || !allowed.includes(value))) {
        // IsolationType defaults to Full when absent, as documented.
        if (!(name === 'IsolationType' && value === undefined)) problems.push(`'${name}' must be one of ${allowed.join(', ')}`);
      }
    }
    if (problems.length) throw new MdeDeviceError(400, 'InvalidRequestBody', `Request body is invalid: ${problems.join('; ')}.`);
    const machine = this.machines.get(machineId);
    if (!machine) throw new MdeDeviceError(404, 'ResourceNotFound', `Machine ${machineId} was not found`);
    const sameKind = [...this.actions.values()].filter((a) => a.machineId === machineId && a.type === spec.type).map((a) => this.current(a));
    if (sameKind.some((a) => a.status === 'Pending' || a.status === 'InProgress')) {
      throw new MdeDeviceError(400, 'ActiveRequestAlreadyExists', `Action is already in progress`);
    }
    const created = new Date(this.now()).toISOString();
    const action: MachineAction = {
      id: randomUUID(),
      type: spec.type,
      title: null,
      requestor: req.caller.clientId,
      requestorComment: String(body.Comment),
      status: 'Pending',
      machineId,
      computerDnsName: machine.computerDnsName,
      creationDateTimeUtc: created,
      lastUpdateDateTimeUtc: created,
      cancellationRequestor: null,
      cancellationComment: null,
      cancellationDateTimeUtc: null,
      errorHResult: 0,
      scope: typeof body.IsolationType === 'string' ? body.IsolationType : segment === 'isolate' ? 'Full' : typeof body.ScanType === 'string' ? body.ScanType : null,
      externalId: null,
      requestSource: 'PublicApi',
      relatedFileInfo: typeof body.Sha1 === 'string' ? { fileIdentifier: body.Sha1, fileIdentifierType: 'Sha1' } : null,
      commands: [],
      troubleshootInfo: null,
    };
    this.actions.set(action.id, action);
    return json(201, { '@odata.context': `${req.baseUrl}/api/$metadata#MachineActions/$entity`, ...action });
  }

  /**
   * `POST /api/machineactions/{id}/cancel` with `{"Comment"}`: 200 + the machine action, now
   * Cancelled (Microsoft: "Cancel an already launched machine action that isn't yet in final
   * state"; 404 when no action has the id). Microsoft documents no answer for an action that has
   * already ended: the stand-in refuses it with a 400 in the API's error format (an assumption,
   * said so in docs/devices.md), leaving the action as it ended.
   */
  private cancelAction(req: DeviceRequest, id: string): DeviceReply {
    const body = jsonObject(req.body);
    const stored = this.actions.get(id);
    if (!stored) throw new MdeDeviceError(404, 'ResourceNotFound', `Machine action ${id} was not found`);
    const action = this.current(stored);
    if (action.status !== 'Pending' && action.status !== 'InProgress') {
      throw new MdeDeviceError(400, 'InvalidRequest', `Machine action ${id} is in a final state (${action.status}) and cannot be cancelled.`);
    }
    const now = new Date(this.now()).toISOString();
    Object.assign(action, {
      status: 'Cancelled',
      lastUpdateDateTimeUtc: now,
      cancellationRequestor: req.caller.clientId,
      cancellationComment: typeof body.Comment === 'string' ? body.Comment : null,
      cancellationDateTimeUtc: now,
    });
    return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#MachineActions/$entity`, ...action });
  }

  private upsertIndicator(req: DeviceRequest): DeviceReply {
    const body = jsonObject(req.body);
    const problems: string[] = [];
    for (const name of ['indicatorValue', 'indicatorType', 'action', 'title', 'description']) {
      if (typeof body[name] !== 'string' || (body[name] as string).trim() === '') problems.push(`'${name}' is required`);
    }
    if (typeof body.indicatorType === 'string' && !INDICATOR_TYPES.includes(body.indicatorType)) problems.push(`'indicatorType' must be one of ${INDICATOR_TYPES.join(', ')}`);
    if (typeof body.action === 'string' && !INDICATOR_ACTIONS.includes(body.action)) problems.push(`'action' must be one of ${INDICATOR_ACTIONS.join(', ')}`);
    if (body.action === 'Audit' && body.generateAlert !== true) problems.push("'generateAlert' must be true with action Audit");
    if (body.indicatorType === 'IpAddress' && typeof body.indicatorValue === 'string' && body.indicatorValue.includes('/')) problems.push('IP ranges (CIDR) are not supported');
    if (body.expirationTime !== undefined && body.expirationTime !== null && (typeof body.expirationTime !== 'string' || Number.isNaN(Date.parse(body.expirationTime)))) problems.push("'expirationTime' must be a date");
    if (problems.length) throw new MdeDeviceError(400, 'InvalidRequestBody', `Request body is invalid: ${problems.join('; ')}.`);
    const key = `${String(body.indicatorType).toLowerCase()}|${String(body.indicatorValue).toLowerCase()}`;
    const existing = this.indicators.get(key);
    const now = new Date(this.now()).toISOString();
    if (!existing) {
      const active = [...this.indicators.values()].filter((i) => !i.expirationTime || Date.parse(i.expirationTime) > this.now()).length;
      if (active >= this.indicatorCap) throw new MdeDeviceError(400, 'BadRequest', `The maximum number of indicators (${this.indicatorCap}) for the tenant has been reached.`);
    }
    const indicator: Indicator = {
      id: existing?.id ?? String(this.indicators.size + 1),
      indicatorValue: String(body.indicatorValue),
      indicatorType: String(body.indicatorType),
      action: String(body.action),
      application: typeof body.application === 'string' ? body.application : null,
      source: req.caller.clientId,
      sourceType: 'AadApp',
      title: String(body.title),
      creationTimeDateTimeUtc: existing?.creationTimeDateTimeUtc ?? now,
      createdBy: existing?.createdBy ?? req.caller.clientId,
      expirationTime: typeof body.expirationTime === 'string' ? body.expirationTime : null,
      lastUpdateTime: now,
      lastUpdatedBy: req.caller.clientId,
      severity: typeof body.severity === 'string' ? body.severity : 'Informational',
      description: String(body.description),
      recommendedActions: typeof body.recommendedActions === 'string' ? body.recommendedActions : null,
      rbacGroupNames: Array.isArray(body.rbacGroupNames) ? body.rbacGroupNames.map(String) : [],
      generateAlert: body.generateAlert === true,
    };
    this.indicators.set(key, indicator);
    return json(200, { '@odata.context': `${req.baseUrl}/api/$metadata#Indicators/$entity`, ...indicator });
  }

  private vulnerabilityExport(req: DeviceRequest): DeviceReply {
    const all = [...this.vulnerabilities.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.exportPage(req, all, 'AssetVulnerability');
  }

  private vulnerabilityDelta(req: DeviceRequest): DeviceReply {
    const sinceText = req.queryPairs.find(([k]) => k.toLowerCase() === 'sincetime')?.[1];
    if (!sinceText) throw new MdeDeviceError(400, 'InvalidParameter', "The 'sinceTime' parameter is required.");
    const since = Date.parse(sinceText);
    if (Number.isNaN(since)) throw new MdeDeviceError(400, 'InvalidParameter', `'sinceTime' is not a date: ${sinceText}.`);
    if (since < this.now() - 14 * 86_400_000) throw new MdeDeviceError(400, 'InvalidParameter', "'sinceTime' can be at most 14 days in the past.");
    // Changes are produced in 6-hour batches: the whole batch sinceTime falls into is returned.
    const batchStart = Math.floor(since / 21_600_000) * 21_600_000;
    const changes = this.vulnerabilityChanges.filter((c) => parseStamp(c.eventTimestamp) >= batchStart);
    return this.exportPage(req, changes, 'DeltaAssetVulnerability');
  }

  private exportPage(req: DeviceRequest, records: object[], type: string): DeviceReply {
    const query = new Map(req.queryPairs.map(([k, v]) => [k.toLowerCase(), v]));
    const pageSize = Number(query.get('pagesize') ?? 50_000);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > VULNERABILITY_PAGE_LIMIT) throw new MdeDeviceError(400, 'InvalidParameter', `pageSize must be between 1 and ${VULNERABILITY_PAGE_LIMIT}.`);
    const token = query.get('$skiptoken');
    let offset = 0;
    if (token) {
      try {
        offset = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { LineStoppedAt: number }).LineStoppedAt;
      } catch {
        throw new MdeDeviceError(400, 'InvalidParameter', 'The $skiptoken is not valid.');
      }
    }
    const top = query.get('$top');
    const size = top !== undefined ? Math.min(Number(top), pageSize) : pageSize;
    const value = records.slice(offset, offset + size);
    const body: Record<string, unknown> = { '@odata.context': `${req.baseUrl}/api/$metadata#Collection(microsoft.windowsDefenderATP.api.${type})`, value };
    if (top === undefined && offset + value.length < records.length) {
      const next = Buffer.from(JSON.stringify({ LineStoppedAt: offset + value.length })).toString('base64url');
      const pairs = req.queryPairs.filter(([k]) => k.toLowerCase() !== '$skiptoken');
      pairs.push(['$skiptoken', next]);
      body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
    }
    return json(200, body);
  }
}

/** The export's timestamp layout, e.g. `2020-12-30 14:17:26`. */
function stamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

function parseStamp(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

function json(status: number, body: unknown): DeviceReply {
  return { status, headers: { 'Content-Type': CONTENT_TYPE, 'OData-Version': '4.0' }, body: JSON.stringify(body) };
}

function notFound(path: string): MdeDeviceError {
  return new MdeDeviceError(404, 'ResourceNotFound', `Resource ${path} wasn't found.`);
}

function jsonObject(text: string | undefined): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new MdeDeviceError(400, 'InvalidRequestBody', 'The request body must be a JSON object.');
}

interface ListOptions {
  top: number;
  skip: number;
  filter?: FilterNode;
}

function listOptions(pairs: [string, string][], schema: FilterSchema, limit: number, allowed: string[]): ListOptions {
  const options = new Map<string, string>();
  for (const [key, value] of pairs) {
    const name = key.toLowerCase().replace(/^\$/, '');
    if (!allowed.includes(name)) throw new MdeDeviceError(400, 'ODataError', `Invalid OData query: the query option '$${name}' is not supported.`);
    options.set(name, value);
  }
  const number = (name: string) => {
    const raw = options.get(name);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new MdeDeviceError(400, 'ODataError', `Invalid OData query: $${name} must be a non-negative integer, got '${raw}'.`);
    return Number(raw);
  };
  const top = number('top') ?? limit;
  if (top > limit) throw new MdeDeviceError(400, 'ODataError', `Invalid OData query: the limit of '${limit}' for Top query has been exceeded. The value from the incoming request is '${top}'.`);
  let filter: FilterNode | undefined;
  const text = options.get('filter');
  if (text !== undefined) {
    try {
      filter = parseFilter(text, schema);
    } catch (error) {
      if (error instanceof ODataFilterError) throw new MdeDeviceError(400, 'ODataError', `Invalid OData query filter: ${error.message}`);
      throw error;
    }
  }
  return { top, skip: number('skip') ?? 0, filter };
}

function page(req: DeviceRequest, matching: object[], options: ListOptions, set: string): DeviceReply {
  const value = matching.slice(options.skip, options.skip + options.top);
  const body: Record<string, unknown> = { '@odata.context': `${req.baseUrl}/api/$metadata#${set}`, value };
  if (options.skip + value.length < matching.length) {
    const pairs = req.queryPairs.filter(([k]) => k.toLowerCase().replace(/^\$/, '') !== 'skip');
    pairs.push(['$skip', String(options.skip + value.length)]);
    body['@odata.nextLink'] = `${req.baseUrl}${req.path}?${pairs.map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v)}`).join('&')}`;
  }
  return json(200, body);
}
