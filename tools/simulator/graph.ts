/**
 * An https simulator of the two Microsoft services the add-on talks to:
 *
 *  - Entra ID (v2.0 endpoints): OpenID discovery, instance discovery, and the client
 *    credentials token endpoint with client secrets or certificate assertions;
 *  - Microsoft Graph security: `alerts_v2` and `incidents` lists and single items, with
 *    the OData behaviour the add-on depends on ($filter, $top caps, $skip offset paging,
 *    $count, $expand=alerts, evolvable enums); PATCH of an alert or incident and POST of a
 *    comment, which need the ReadWrite role, validate the body as Graph does and stamp a new
 *    lastUpdateDateTime;
 *  - the Defender for Endpoint alerts API under `/api/` (see mde.ts), for tokens issued to the
 *    WindowsDefenderATP resource.
 *
 * Status codes, headers and error bodies follow what the real services send, so client
 * code tested against it handles the real thing. Tests drive it through the public store
 * (`addAlerts`, `updateAlert`, …), `faults`, `onListPage` and the `requests` log.
 */
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as cryptoConstants, createHash, randomUUID, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ALERT_STATUSES, CLASSIFICATIONS, DETERMINATIONS, DETECTION_SOURCES, INCIDENT_STATUSES, SERVICE_SOURCES, SEVERITIES,
  DocumentGenerator, TICKS_PER_MS, dateToTicks, evolvableMembers,
  type Alert, type Incident,
} from './documents.js';
import { accessTokenJwt, rolesFor } from './accessToken.js';
import { HuntingApi } from './hunting.js';
import { MdeAlertsApi, MDE_RESOURCES } from './mde.js';
import { ODataFilterError, evaluateFilter, formatTicks, parseFilter, toTicks, type FilterNode, type FilterSchema } from './odata.js';
import { ServiceError } from './serviceError.js';

export type { Alert, Incident } from './documents.js';

// ---------------------------------------------------------------------------------------
// Public API

export interface SimulatorApp {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** Public certificate (PEM) that verifies client_assertion JWTs (RS256/PS256, `x5t#S256` or `x5t` header). */
  certificatePem?: string;
  /** Application roles, e.g. `['SecurityAlert.Read.All', 'SecurityIncident.Read.All']`; checked on every request. */
  roles: string[];
}

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; bodyRetryText?: boolean }
  | { kind: 'reset' }
  | { kind: 'truncate' }
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  /** Tested against the request's path and query, percent-decoded (`/v1.0/security/alerts_v2?$top=10`). */
  match: RegExp;
  fault: Fault;
  /** How many matching requests get the fault; decremented on each use. */
  times: number;
  /**
   * Only requests made for this tenant: to its token endpoint, or with an access token issued in it
   * (one account's stuck connection while the others' go through).
   */
  tenant?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Request headers; credentials (Authorization, Cookie) are redacted. */
  headers: Record<string, string | string[] | undefined>;
  /** Response status; 0 while pending or when the connection was reset. */
  status: number;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

export interface GraphSimulatorOptions {
  tls: { key: string; cert: string };
  apps: SimulatorApp[];
  /** Incidents list with both `$expand=alerts` and `$filter` -> persistent 500 (seen on large tenants). */
  expandFailsWithFilter?: boolean;
  /** Access token lifetime; default 3599 like Entra. */
  tokenLifetimeSeconds?: number;
  /** Seed for the document generator; default 1. */
  seed?: number;
  /**
   * `$orderby` is undocumented for the security lists but honoured in practice; `false` makes the
   * lists ignore it (documented order, newest created first), as a server that drops it would.
   */
  honoursOrderBy?: boolean;
}

export interface ListPageInfo {
  collection: 'alerts' | 'incidents';
  skip: number;
  top: number;
  returned: number;
}

/** Largest `$top` each list accepts; also the page size when `$top` is absent. */
export const PAGE_LIMITS = { alerts: 1000, incidents: 50 } as const;

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

// ---------------------------------------------------------------------------------------
// Internal types

interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Parts are written one after the other: a page is not copied into one new buffer per request. */
  body: string | Buffer | Buffer[];
  /** Milliseconds the answer takes (a hunting query's run time). */
  delayMs?: number;
}

interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Query pairs in arrival order, to rebuild `@odata.nextLink`. */
  queryPairs: [string, string][];
  headers: IncomingHttpHeaders;
  body: string;
  requestId: string;
  clientRequestId: string;
}

interface IssuedToken {
  clientId: string;
  tenantId: string;
  resource: string;
  expiresAt: number;
}

type Collection = 'alerts' | 'incidents';

/** A Graph error response: `{"error":{"code","message","innerError"}}`. */
class GraphError extends ServiceError {}

/** An Entra (AADSTS) error response. */
class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Constants

const GRAPH_CONTENT_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const ENTRA_CONTENT_TYPE = 'application/json; charset=utf-8';
const PREFER_UNKNOWN_ENUMS = 'include-unknown-enum-members';
const CLOCK_SKEW_SECONDS = 300;

const GRAPH_RESOURCES = [
  'https://graph.microsoft.com', 'https://graph.microsoft.us', 'https://dod-graph.microsoft.us',
  'https://microsoftgraph.chinacloudapi.cn', '00000003-0000-0000-c000-000000000000',
];
/** Azure Event Hubs' resource (the SDK asks for `https://eventhubs.azure.net//.default`). */
export const EVENT_HUBS_RESOURCE = 'https://eventhubs.azure.net';
const OTHER_RESOURCES = [...MDE_RESOURCES, 'https://api.security.microsoft.com', EVENT_HUBS_RESOURCE];
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

const REQUIRED_ROLES: Record<Collection, readonly string[]> = {
  alerts: ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'],
  incidents: ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'],
};

/** PATCH and POST need the write role itself; a read role is not enough. */
const WRITE_ROLES: Record<Collection, string> = {
  alerts: 'SecurityAlert.ReadWrite.All',
  incidents: 'SecurityIncident.ReadWrite.All',
};

/** Properties a PATCH may set, with the enum members each accepts (undefined: not an enum). */
const UPDATABLE: Record<Collection, Record<string, { enumType: string; members: readonly string[] } | 'string' | 'strings'>> = {
  alerts: {
    status: { enumType: 'microsoft.graph.security.alertStatus', members: ALERT_STATUSES },
    classification: { enumType: 'microsoft.graph.security.alertClassification', members: CLASSIFICATIONS },
    determination: { enumType: 'microsoft.graph.security.alertDetermination', members: DETERMINATIONS },
    assignedTo: 'string',
  },
  incidents: {
    status: { enumType: 'microsoft.graph.security.incidentStatus', members: INCIDENT_STATUSES },
    classification: { enumType: 'microsoft.graph.security.alertClassification', members: CLASSIFICATIONS },
    determination: { enumType: 'microsoft.graph.security.alertDetermination', members: DETERMINATIONS },
    assignedTo: 'string',
    customTags: 'strings',
    resolvingComment: 'string',
  },
};

const ALERT_SCHEMA: FilterSchema = {
  typeName: 'microsoft.graph.security.alert',
  fields: {
    assignedTo: { type: 'string' },
    classification: { type: 'enum', members: CLASSIFICATIONS },
    // Both spellings appear in Microsoft's docs; accept either in filters.
    determination: { type: 'enum', members: [...DETERMINATIONS, 'compromisedUser', 'clean', 'insufficientData', 'confirmedUserActivity'] },
    createdDateTime: { type: 'datetime' },
    lastUpdateDateTime: { type: 'datetime' },
    severity: { type: 'enum', members: SEVERITIES },
    serviceSource: { type: 'enum', members: SERVICE_SOURCES },
    status: { type: 'enum', members: ALERT_STATUSES },
    // Not in the filterable list of the docs, but used (and answered) to read one incident's alerts.
    incidentId: { type: 'string' },
  },
};

const INCIDENT_SCHEMA: FilterSchema = {
  typeName: 'microsoft.graph.security.incident',
  fields: {
    assignedTo: { type: 'string' },
    classification: { type: 'enum', members: CLASSIFICATIONS },
    createdDateTime: { type: 'datetime' },
    determination: { type: 'enum', members: [...DETERMINATIONS, 'compromisedUser', 'clean', 'insufficientData', 'confirmedUserActivity'] },
    lastUpdateDateTime: { type: 'datetime' },
    severity: { type: 'enum', members: SEVERITIES },
    status: { type: 'enum', members: INCIDENT_STATUSES },
  },
};

const EVOLVABLE = {
  serviceSource: evolvableMembers(SERVICE_SOURCES),
  detectionSource: evolvableMembers(DETECTION_SOURCES),
  incidentStatus: evolvableMembers(INCIDENT_STATUSES),
};

const SYSTEM_QUERY_OPTIONS = new Set(['top', 'skip', 'filter', 'count', 'expand', 'orderby', 'select', 'search', 'format', 'skiptoken']);

// ---------------------------------------------------------------------------------------
// The simulator

export class GraphSimulator {
  faults: FaultRule[] = [];
  requests: RecordedRequest[] = [];
  /** Added to the time in every answer's Date header: a negative value plays a host whose clock runs ahead of Microsoft's. */
  dateOffsetMs = 0;
  onListPage?: (info: ListPageInfo) => void;
  expandFailsWithFilter: boolean;
  honoursOrderBy: boolean;
  alerts = new VersionedMap<string, Alert>();
  incidents = new VersionedMap<string, Incident>();
  /** Filtered, ordered lists by collection and $filter, valid while their map's version holds. */
  private readonly matchingCache = new Map<string, { version: number; items: ItemRun }>();
  private readonly orderCache = new Map<string, OrderedList>();
  /** The Defender for Endpoint alerts API on the same host. */
  readonly mde: MdeAlertsApi;
  /** Advanced hunting (`security/runHuntingQuery`, see hunting.ts); tests set its quotas and rows. */
  readonly hunting = new HuntingApi();

  /** The registered apps (copies of the options); tests may edit roles directly. */
  readonly apps: SimulatorApp[];
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly tokenLifetimeSeconds: number;
  private readonly generator: DocumentGenerator;
  private readonly server: https.Server;
  private readonly stopping = new AbortController();
  private base?: string;
  private lastStampTicks = 0n;

  constructor(opts: GraphSimulatorOptions) {
    this.apps = opts.apps.map((a) => ({ ...a, roles: [...a.roles] }));
    this.expandFailsWithFilter = opts.expandFailsWithFilter ?? false;
    this.honoursOrderBy = opts.honoursOrderBy ?? true;
    this.tokenLifetimeSeconds = opts.tokenLifetimeSeconds ?? 3599;
    this.generator = new DocumentGenerator({
      tenantId: this.apps[0]?.tenantId ?? '8f3c2d1e-5b4a-4c3d-9e8f-7a6b5c4d3e2f',
      seed: opts.seed,
    });
    this.mde = new MdeAlertsApi(this.generator);
    this.server = https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, (req, res) => {
      void this.handle(req, res);
    });
  }

  get baseUrl(): string {
    if (!this.base) throw new Error('GraphSimulator is not started');
    return this.base;
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    this.base = `https://127.0.0.1:${address.port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // --- store -------------------------------------------------------------------------------

  addAlerts(n: number, opts: { at?: Date; spreadMs?: number; incidentId?: string } = {}): Alert[] {
    const added: Alert[] = [];
    for (let i = 0; i < n; i++) {
      const ticks = this.spreadTicks(opts.at, opts.spreadMs);
      const incidentId = opts.incidentId ?? this.generator.nextIncidentId();
      const alert = this.generator.alert({ createdTicks: ticks, lastUpdateTicks: ticks, incidentId });
      this.alerts.set(alert.id, alert);
      this.linkAlert(alert);
      added.push(alert);
    }
    return added;
  }

  addIncidents(n: number, opts: { alertsPerIncident?: number; at?: Date; spreadMs?: number } = {}): Incident[] {
    const added: Incident[] = [];
    for (let i = 0; i < n; i++) {
      const ticks = this.spreadTicks(opts.at, opts.spreadMs);
      const id = this.generator.nextIncidentId();
      const alerts = Array.from({ length: opts.alertsPerIncident ?? 2 }, () =>
        this.generator.alert({ createdTicks: ticks, lastUpdateTicks: ticks, incidentId: id }),
      );
      const previous = added.at(-1)?.id ?? [...this.incidents.keys()].at(-1);
      const incident = this.generator.incident({ id, createdTicks: ticks, lastUpdateTicks: ticks, alerts, redirectCandidate: previous });
      for (const alert of alerts) this.alerts.set(alert.id, alert);
      this.incidents.set(id, incident);
      added.push(incident);
    }
    return added;
  }

  /**
   * Stores given documents (Microsoft's documented examples, say) to be served exactly as written,
   * keyed by their `id`: no defaults, no masking of enum members, no linking of alerts to
   * incidents. An incident's `alerts` is served as the document has it (array, object or absent)
   * when the request expands alerts, and left out otherwise.
   */
  seedDocuments(collection: 'alerts' | 'incidents', documents: readonly Record<string, unknown>[]): void {
    for (const document of documents) {
      if (typeof document.id !== 'string') throw new Error('GraphSimulator.seedDocuments: every document needs a string id');
      VERBATIM.add(document);
      if (collection === 'alerts') this.alerts.set(document.id, document as unknown as Alert);
      else this.incidents.set(document.id, document as unknown as Incident);
    }
  }

  /** Sets `lastUpdateDateTime` (to `at`, or now), then applies `patch`; keeps the incident's embedded copy in step. */
  updateAlert(id: string, patch: Partial<Alert> = {}, at?: Date): Alert {
    const current = this.alerts.get(id);
    if (!current) throw new Error(`GraphSimulator: no alert '${id}'`);
    const stamp = this.stamp(at);
    const updated: Alert = { ...current, lastUpdateDateTime: stamp, ...patch };
    if (updated.status === 'resolved' && current.status !== 'resolved' && !('resolvedDateTime' in patch)) {
      updated.resolvedDateTime = stamp;
    }
    this.unlinkAlert(current);
    this.alerts.set(id, updated);
    this.linkAlert(updated);
    return updated;
  }

  updateIncident(id: string, patch: Partial<Incident> = {}, at?: Date): Incident {
    const current = this.incidents.get(id);
    if (!current) throw new Error(`GraphSimulator: no incident '${id}'`);
    const updated: Incident = { ...current, lastUpdateDateTime: this.stamp(at), ...patch };
    this.incidents.set(id, updated);
    return updated;
  }

  revokeRole(clientId: string, role: string): void {
    for (const app of this.appsById(clientId)) app.roles = app.roles.filter((r) => r !== role);
  }

  grantRole(clientId: string, role: string): void {
    for (const app of this.appsById(clientId)) if (!app.roles.includes(role)) app.roles.push(role);
  }

  /** Makes every access token issued so far expired, as if an hour had passed. */
  expireTokens(): void {
    for (const token of this.tokens.values()) token.expiresAt = 0;
  }

  private appsById(clientId: string): SimulatorApp[] {
    return this.apps.filter((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
  }

  private spreadTicks(at: Date | undefined, spreadMs = 0): bigint {
    const base = dateToTicks(at ?? new Date());
    return base - this.generator.randomTicks(BigInt(Math.max(0, Math.floor(spreadMs))) * TICKS_PER_MS);
  }

  /** `at` exactly, or "now" made strictly increasing so successive updates never tie. */
  private stamp(at?: Date): string {
    if (at) return formatTicks(dateToTicks(at));
    const now = dateToTicks(new Date());
    this.lastStampTicks = now > this.lastStampTicks ? now : this.lastStampTicks + 1n;
    return formatTicks(this.lastStampTicks);
  }

  private linkAlert(alert: Alert): void {
    const incident = this.incidents.get(alert.incidentId);
    if (!incident) return;
    const others = (incident.alerts ?? []).filter((a) => a.id !== alert.id);
    incident.alerts = [...others, alert];
  }

  private unlinkAlert(alert: Alert): void {
    const incident = this.incidents.get(alert.incidentId);
    if (incident?.alerts) incident.alerts = incident.alerts.filter((a) => a.id !== alert.id);
  }

  // --- request pipeline ---------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record = this.record(req);
    try {
      const body = await readBody(req);
      const ctx = this.context(req, body);
      const fault = this.takeFault(req);
      if (fault?.kind === 'reset') return resetConnection(req);
      if (fault?.kind === 'delay' && !(await this.delay(fault.ms))) return;
      const reply = fault?.kind === 'status' ? this.faultReply(fault, ctx) : this.route(ctx);
      if (reply.delayMs && !(await this.delay(reply.delayMs))) return;
      record.status = reply.status;
      if (this.dateOffsetMs) res.setHeader('Date', new Date(Date.now() + this.dateOffsetMs).toUTCString());
      if (fault?.kind === 'truncate') sendTruncated(res, reply);
      else send(res, reply);
    } catch (err) {
      record.status = 500;
      if (!res.headersSent && !res.destroyed) {
        send(res, { status: 500, headers: { 'Content-Type': 'text/plain' }, body: `simulator error: ${String(err)}` });
      }
    }
  }

  private record(req: IncomingMessage): RecordedRequest {
    const url = requestUrl(req);
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: redactHeaders(req.headers),
      status: 0,
      receivedAt: performance.now(),
    };
    this.requests.push(entry);
    return entry;
  }

  private context(req: IncomingMessage, body: string): RequestContext {
    const url = requestUrl(req);
    const requestId = randomUUID();
    const clientRequestId = headerValue(req.headers['client-request-id']) ?? requestId;
    return {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      queryPairs: [...url.searchParams.entries()],
      headers: req.headers,
      body,
      requestId,
      clientRequestId,
    };
  }

  private takeFault(req: IncomingMessage): Fault | undefined {
    const target = safeDecode(req.url ?? '/');
    const rule = this.faults.find((r) => r.times > 0 && r.match.test(target) && (r.tenant === undefined || r.tenant === this.requestTenant(req)));
    if (!rule) return undefined;
    rule.times--;
    return rule.fault;
  }

  /** The tenant a request is made for: its access token's, or the token endpoint's path segment. */
  private requestTenant(req: IncomingMessage): string | undefined {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(req.headers.authorization) ?? '');
    if (bearer) return this.tokens.get(bearer[1]!)?.tenantId;
    return safeDecode(requestUrl(req).pathname.split('/')[1] ?? '');
  }

  /** Resolves false when the simulator stops during the delay (the response is then dropped). */
  private async delay(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.stopping.signal });
      return true;
    } catch {
      return false;
    }
  }

  private faultReply(fault: Extract<Fault, { kind: 'status' }>, ctx: RequestContext): Reply {
    const isGraph = isGraphPath(ctx.path);
    const headers: Record<string, string> = isGraph ? this.graphHeaders(ctx, true) : this.entraHeaders(ctx);
    if (fault.retryAfter !== undefined && !fault.bodyRetryText) headers['Retry-After'] = fault.retryAfter;
    if (fault.body !== undefined) return customBodyReply(fault.status, headers, fault.body);
    if (fault.bodyRetryText) {
      const seconds = fault.retryAfter ?? '1';
      return this.graphErrorReply(ctx, new GraphError(fault.status, 'TooManyRequests', `Rate limit is exceeded. Try again in ${seconds} seconds.`, headers));
    }
    if (isGraph) {
      const [code, message] = defaultGraphError(fault.status);
      return this.graphErrorReply(ctx, new GraphError(fault.status, code, message, headers));
    }
    const [error, aadsts, message] = defaultEntraError(fault.status);
    return { ...this.entraErrorReply(ctx, new EntraError(fault.status, error, aadsts, message)), headers };
  }

  private route(ctx: RequestContext): Reply {
    const segments = ctx.path.split('/').filter(Boolean).map(safeDecode);
    if (segments[0]?.toLowerCase() === 'api') return this.mdeApi(ctx);
    if (segments[0]?.toLowerCase() === 'v1.0') {
      try {
        return this.graph(ctx, segments.slice(1));
      } catch (err) {
        if (err instanceof GraphError) return this.graphErrorReply(ctx, err);
        throw err;
      }
    }
    try {
      return this.entra(ctx, segments);
    } catch (err) {
      if (err instanceof EntraError) return this.entraErrorReply(ctx, err);
      throw err;
    }
  }

  /** Defender for Endpoint: the token is checked here, the API itself lives in mde.ts. */
  private mdeApi(ctx: RequestContext): Reply {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(ctx.headers.authorization) ?? '');
    const token = match ? this.tokens.get(match[1]!) : undefined;
    const app = token && this.apps.find((a) => a.clientId === token.clientId && a.tenantId === token.tenantId);
    if (!token || !app || Date.now() >= token.expiresAt) {
      const message = !token ? 'Unauthorized: the authorization header is missing or invalid.' : 'Unauthorized: the access token has expired.';
      return { status: 401, headers: { 'Content-Type': 'application/json; charset=utf-8', 'WWW-Authenticate': 'Bearer' }, body: JSON.stringify({ error: { code: 'Unauthorized', message, target: ctx.requestId } }) };
    }
    return this.mde.handle({
      method: ctx.method,
      path: ctx.path,
      queryPairs: ctx.queryPairs,
      caller: { tenantId: app.tenantId, clientId: app.clientId, roles: app.roles, resource: token.resource },
      baseUrl: this.baseUrl,
      body: ctx.body,
    });
  }

  // --- Entra ID ------------------------------------------------------------------------------

  private entra(ctx: RequestContext, segments: string[]): Reply {
    const [first, ...rest] = segments;
    const tail = rest.join('/').toLowerCase();
    if (first?.toLowerCase() === 'common' && tail === 'discovery/instance') return this.instanceDiscovery(ctx);
    if (first && tail === 'v2.0/.well-known/openid-configuration') return this.openIdConfiguration(ctx, first);
    if (first && tail === 'discovery/v2.0/keys') {
      this.tenant(first);
      return this.entraJson(ctx, 200, { keys: [] });
    }
    if (first && tail === 'oauth2/v2.0/token') return this.token(ctx, first);
    return { status: 404, headers: this.entraHeaders(ctx), body: '' };
  }

  private hostAliases(): string[] {
    const port = new URL(this.baseUrl).port;
    return [`127.0.0.1:${port}`, `localhost:${port}`];
  }

  /** What msal asks `login.microsoftonline.com/common/discovery/instance` for an authority. */
  private instanceDiscovery(ctx: RequestContext): Reply {
    const authorize = ctx.query.get('authorization_endpoint');
    let tenant = 'common';
    if (authorize) {
      const url = tryUrl(authorize);
      if (!url || !this.hostAliases().includes(url.host)) {
        throw new EntraError(400, 'invalid_instance', 50049, 'Unknown or invalid instance.');
      }
      tenant = url.pathname.split('/').filter(Boolean)[0] ?? 'common';
    }
    const [host] = this.hostAliases();
    return this.entraJson(ctx, 200, {
      tenant_discovery_endpoint: `${this.baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: this.hostAliases() }],
    });
  }

  private openIdConfiguration(ctx: RequestContext, tenantSegment: string): Reply {
    const generic = ['common', 'organizations'].includes(tenantSegment.toLowerCase());
    const tenant = generic ? tenantSegment.toLowerCase() : this.tenant(tenantSegment);
    const t = `${this.baseUrl}/${tenant}`;
    return this.entraJson(ctx, 200, {
      token_endpoint: `${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: generic ? `${this.baseUrl}/{tenantid}/v2.0` : `${t}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: new URL(this.baseUrl).host,
      rbac_url: 'https://pas.windows.net',
    });
  }

  /** Canonical tenant id for a path segment, or AADSTS90002 (`invalid_tenant` on metadata, `invalid_request` on the token endpoint). */
  private tenant(segment: string, error = 'invalid_tenant'): string {
    const app = this.apps.find((a) => a.tenantId.toLowerCase() === segment.toLowerCase());
    if (!app) {
      throw new EntraError(400, error, 90002, `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`);
    }
    return app.tenantId;
  }

  private token(ctx: RequestContext, tenantSegment: string): Reply {
    const tenantId = this.tenant(tenantSegment, 'invalid_request');
    if (ctx.method !== 'POST') {
      throw new EntraError(400, 'invalid_request', 900561, `The endpoint only accepts POST, OPTIONS requests. Received a ${ctx.method} request.`);
    }
    const form = isFormEncoded(ctx.headers) ? new URLSearchParams(ctx.body) : new URLSearchParams();
    const grantType = requireParam(form, 'grant_type');
    if (grantType !== 'client_credentials') {
      throw new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    const basic = basicCredentials(ctx.headers);
    const clientId = form.get('client_id') ?? basic?.clientId ?? requireParam(form, 'client_id');
    const app = this.apps.find((a) => a.tenantId === tenantId && a.clientId.toLowerCase() === clientId.toLowerCase());
    if (!app) {
      throw new EntraError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantSegment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    this.authenticateClient(app, form, basic?.secret, `${this.baseUrl}/${tenantId}`);
    const resource = this.resourceFromScope(requireParam(form, 'scope'), tenantSegment);
    return this.issueToken(ctx, app, resource);
  }

  private authenticateClient(app: SimulatorApp, form: URLSearchParams, basicSecret: string | undefined, tenantBase: string): void {
    const secret = form.get('client_secret') ?? basicSecret;
    const assertion = form.get('client_assertion');
    if (secret !== undefined) {
      if (!app.clientSecret || !sameSecret(secret, app.clientSecret)) {
        throw new EntraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
      }
      return;
    }
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
        throw new EntraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
      }
      verifyClientAssertion(assertion, app, `${tenantBase}/oauth2/v2.0/token`, `${tenantBase}/v2.0`);
      return;
    }
    throw new EntraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }

  /** Client credentials need exactly one `<resource>/.default` scope (OIDC scopes are tolerated). */
  private resourceFromScope(scope: string, tenantSegment: string): string {
    const scopes = scope.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s.toLowerCase()));
    const only = scopes.length === 1 ? scopes[0]! : scope;
    if (scopes.length !== 1 || !only.toLowerCase().endsWith('/.default')) {
      throw new EntraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const resource = normalizeResource(only.slice(0, -'/.default'.length));
    const known = [...GRAPH_RESOURCES, ...OTHER_RESOURCES, this.baseUrl].map(normalizeResource);
    if (!known.includes(resource)) {
      throw new EntraError(400, 'invalid_resource', 500011, `The resource principal named ${only.slice(0, -'/.default'.length)} was not found in the tenant named ${tenantSegment}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
    }
    return resource;
  }

  private issueToken(ctx: RequestContext, app: SimulatorApp, resource: string): Reply {
    const nowS = Math.floor(Date.now() / 1000);
    const audience = resource === normalizeResource(this.baseUrl) ? 'both'
      : MDE_RESOURCES.includes(resource) ? 'wdatp'
      : GRAPH_RESOURCES.map(normalizeResource).includes(resource) ? 'graph' : 'other';
    // The roles are those granted when the token is issued, as with Entra: a permission granted
    // or removed later shows in the next token.
    const accessToken = accessTokenJwt({ resource, tenantId: app.tenantId, clientId: app.clientId, roles: rolesFor(app.roles, audience), issuedAtS: nowS, expiresAtS: nowS + this.tokenLifetimeSeconds });
    this.tokens.set(accessToken, {
      clientId: app.clientId,
      tenantId: app.tenantId,
      resource,
      expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000,
    });
    return this.entraJson(ctx, 200, {
      token_type: 'Bearer',
      expires_in: this.tokenLifetimeSeconds,
      ext_expires_in: this.tokenLifetimeSeconds,
      access_token: accessToken,
    });
  }

  private entraHeaders(ctx: RequestContext): Record<string, string> {
    return {
      'Content-Type': ENTRA_CONTENT_TYPE,
      'Cache-Control': 'no-store, no-cache',
      Pragma: 'no-cache',
      'x-ms-request-id': ctx.requestId,
      'x-ms-ests-server': '2.1.19404.5 - WEULR1 ProdSlices',
      'request-id': ctx.requestId,
      'client-request-id': ctx.clientRequestId,
    };
  }

  private entraJson(ctx: RequestContext, status: number, body: unknown): Reply {
    return { status, headers: this.entraHeaders(ctx), body: JSON.stringify(body) };
  }

  private entraErrorReply(ctx: RequestContext, err: EntraError): Reply {
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const correlationId = ctx.clientRequestId;
    return this.entraJson(ctx, err.status, {
      error: err.error,
      error_description: `AADSTS${err.aadsts}: ${err.message}\r\nTrace ID: ${ctx.requestId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [err.aadsts],
      timestamp,
      trace_id: ctx.requestId,
      correlation_id: correlationId,
      error_uri: `${this.baseUrl}/error?code=${err.aadsts}`,
    });
  }

  // --- Microsoft Graph -------------------------------------------------------------------------

  private graph(ctx: RequestContext, segments: string[]): Reply {
    const app = this.authenticate(ctx);
    if (segments.length === 2 && segments[0]!.toLowerCase() === 'security' && segments[1]!.toLowerCase() === 'runhuntingquery') {
      return this.hunting.handle({ method: ctx.method, body: ctx.body, roles: app.roles, tenantId: app.tenantId });
    }
    const { collection, id, sub } = graphTarget(segments);
    if (ctx.method === 'GET' && sub === undefined) {
      authorize(app, collection);
      return id === undefined ? this.list(ctx, collection) : this.single(ctx, collection, id);
    }
    if (ctx.method === 'PATCH' && id !== undefined && sub === undefined) {
      authorizeWrite(app, collection);
      return this.patch(ctx, collection, id);
    }
    if (ctx.method === 'POST' && id !== undefined && sub === 'comments') {
      authorizeWrite(app, collection);
      return this.postComment(ctx, app, collection, id);
    }
    throw new GraphError(405, 'MethodNotAllowed', `The HTTP method '${ctx.method}' is not supported by this simulator for this resource.`);
  }

  /** PATCH: validates the whole body first (400), then finds the item (404), then applies it. */
  private patch(ctx: RequestContext, collection: Collection, id: string): Reply {
    const body = jsonBody(ctx);
    const type = collection === 'alerts' ? ALERT_SCHEMA.typeName : INCIDENT_SCHEMA.typeName;
    const updatable = UPDATABLE[collection];
    const patch: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) {
      if (key === '@odata.type') continue;
      const rule = updatable[key];
      if (rule === undefined) {
        const known = collection === 'alerts' ? this.alerts.values().next().value : this.incidents.values().next().value;
        if (known && key in known) throw new GraphError(400, 'BadRequest', `The property '${key}' cannot be updated on type '${type}'.`);
        throw new GraphError(400, 'BadRequest', `The property '${key}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
      }
      if (rule === 'string') {
        if (value !== null && typeof value !== 'string') throw new GraphError(400, 'BadRequest', `Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details.`);
      } else if (rule === 'strings') {
        if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new GraphError(400, 'BadRequest', `Cannot convert the value of property '${key}' to the expected type 'Collection(Edm.String)'.`);
      } else if (typeof value !== 'string' || !enumAccepts(rule.members, value, prefersUnknownEnums(ctx.headers))) {
        throw new GraphError(400, 'BadRequest', `Cannot convert the literal '${String(value)}' to the expected type '${rule.enumType}'.`);
      }
      patch[key] = value;
    }
    const item = collection === 'alerts' ? this.alerts.get(id) : this.incidents.get(id);
    if (!item) throw notFoundItem(collection, id);
    const updated = collection === 'alerts' ? this.updateAlert(id, patch as Partial<Alert>) : this.updateIncident(id, patch as Partial<Incident>);
    const reply = { '@odata.context': this.contextUrl(collection, false, true), ...present(updated, prefersUnknownEnums(ctx.headers), false) };
    return { status: 200, headers: this.graphHeaders(ctx, false), body: JSON.stringify(reply) };
  }

  /** POST …/comments: appends an alertComment; answers with the item's comments. */
  private postComment(ctx: RequestContext, app: SimulatorApp, collection: Collection, id: string): Reply {
    const body = jsonBody(ctx);
    const odataType = body['@odata.type'];
    if (odataType !== undefined && String(odataType).replace(/^#/, '') !== 'microsoft.graph.security.alertComment') {
      throw new GraphError(400, 'BadRequest', `A type named '${String(odataType)}' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.`);
    }
    if (typeof body.comment !== 'string' || body.comment.trim() === '') {
      throw new GraphError(400, 'BadRequest', "The comment is required and can't be empty.");
    }
    const item = collection === 'alerts' ? this.alerts.get(id) : this.incidents.get(id);
    if (!item) throw notFoundItem(collection, id);
    const comments = [...item.comments, { comment: body.comment, createdByDisplayName: `API-App:${app.clientId}`, createdDateTime: this.stamp() }];
    if (collection === 'alerts') this.updateAlert(id, { comments });
    else this.updateIncident(id, { comments });
    const reply = { '@odata.context': `${this.baseUrl}/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)`, value: comments };
    return { status: 200, headers: this.graphHeaders(ctx, false), body: JSON.stringify(reply) };
  }

  /**
   * Why `accessToken` would not be accepted by `resource` (undefined when it would): for other
   * services' stand-ins (Event Hubs' CBS put-token) that accept this simulator's tokens.
   */
  accessTokenProblem(accessToken: string, resource: string): string | undefined {
    const token = this.tokens.get(accessToken);
    if (!token) return 'Access token validation failure. Invalid signature.';
    if (Date.now() >= token.expiresAt) return 'Lifetime validation failed, the token is expired.';
    if (token.resource !== normalizeResource(resource)) return `Access token validation failure. Invalid audience '${token.resource}'.`;
    return undefined;
  }

  private authenticate(ctx: RequestContext): SimulatorApp {
    const header = headerValue(ctx.headers.authorization);
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw unauthorized(this.baseUrl, 'Access token is empty.');
    const token = this.tokens.get(match[1]!);
    if (!token) {
      throw unauthorized(this.baseUrl, match[1]!.includes('.') ? 'Access token validation failure. Invalid signature.' : "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EncodedPayload.Signature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.");
    }
    if (Date.now() >= token.expiresAt) throw unauthorized(this.baseUrl, 'Lifetime validation failed, the token is expired.');
    const graphResources = [...GRAPH_RESOURCES, this.baseUrl].map(normalizeResource);
    if (!graphResources.includes(token.resource)) throw unauthorized(this.baseUrl, 'Access token validation failure. Invalid audience.');
    const app = this.apps.find((a) => a.clientId === token.clientId && a.tenantId === token.tenantId);
    if (!app) throw unauthorized(this.baseUrl, 'Access token validation failure.');
    return app;
  }

  private list(ctx: RequestContext, collection: Collection): Reply {
    const options = parseListOptions(ctx, collection);
    if (collection === 'incidents' && options.expand && options.filter && this.expandFailsWithFilter) {
      throw new GraphError(500, 'InternalServerError', 'An internal server error occurred while processing the request.');
    }
    const matching = this.matching(collection, options.filter, this.honoursOrderBy ? options.orderBy : undefined);
    const page = matching.slice(options.skip, options.skip + options.top);
    const includeUnknown = prefersUnknownEnums(ctx.headers);
    const head: Record<string, unknown> = { '@odata.context': this.contextUrl(collection, options.expand, false) };
    if (options.count) head['@odata.count'] = matching.length;
    const nextLink = options.top > 0 && options.skip + page.length < matching.length ? this.nextLink(ctx, options.skip + options.top) : undefined;
    this.onListPage?.({ collection, skip: options.skip, top: options.top, returned: page.length });
    // Written as JSON.stringify of {head..., value, @odata.nextLink} would write it, from each
    // alert's JSON bytes made once per version (alerts are replaced, never edited, when they
    // change): serving a page then costs about a copy of it, which keeps the simulator ahead of
    // the input it serves.
    const parts: Buffer[] = [Buffer.from(`${JSON.stringify(head).slice(0, -1)},"value":[`)];
    page.forEach((item, i) => {
      if (i > 0) parts.push(COMMA);
      parts.push(presentedJson(item, includeUnknown, options.expand));
    });
    parts.push(Buffer.from(`]${nextLink ? `,"@odata.nextLink":${JSON.stringify(nextLink)}` : ''}}`));
    return { status: 200, headers: this.graphHeaders(ctx, false), body: parts };
  }

  /**
   * Makes every alert's wire JSON now, so a benchmark times the input rather than the first
   * serialisation; for clients that send `Prefer: include-unknown-enum-members` (the inputs do) unless told otherwise.
   */
  prepareAlertJson(includeUnknown = true): void {
    for (const alert of this.alerts.values()) presentedJson(alert, includeUnknown, false);
    // Microsoft's indexes exist before the first request: sort in the orders the inputs ask for.
    this.ordered('alerts', undefined);
    this.ordered('alerts', { property: 'lastUpdateDateTime', direction: 'asc' });
  }

  private single(ctx: RequestContext, collection: Collection, id: string): Reply {
    const expand = parseExpand(ctx, collection);
    const item = collection === 'alerts' ? this.alerts.get(id) : this.incidents.get(id);
    if (!item) throw notFoundItem(collection, id);
    const body = { '@odata.context': this.contextUrl(collection, expand, true), ...present(item, prefersUnknownEnums(ctx.headers), expand) };
    return { status: 200, headers: this.graphHeaders(ctx, false), body: JSON.stringify(body) };
  }

  /**
   * Newest first by createdDateTime, ties by id: the documented order, which offset paging
   * shifts. With `$orderby` on a time property, that property's order, ties by id.
   */
  private matching(collection: Collection, filter: FilterNode | undefined, orderBy: OrderBy | undefined): ItemRun {
    const map = collection === 'alerts' ? this.alerts : this.incidents;
    const key = `${collection}|${orderBy ? `${orderBy.property} ${orderBy.direction}` : ''}|${filter ? JSON.stringify(filter, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) : ''}`;
    const cached = this.matchingCache.get(key);
    if (cached && cached.version === map.version) return cached.items;
    const result = this.filtered(this.ordered(collection, orderBy), filter);
    if (this.matchingCache.size > 32) this.matchingCache.clear();
    this.matchingCache.set(key, { version: map.version, items: result });
    return result;
  }

  /**
   * The items of an ordered list that pass the filter. When the list is in ascending order of a
   * time property and the filter bounds that property from below (as every window query does),
   * the bounds are found by binary search, as a database's index would, and only the other
   * clauses are evaluated: a new window per page then costs a lookup, not a scan of everything.
   */
  private filtered(ordered: OrderedList, filter: FilterNode | undefined): ItemRun {
    if (!filter) return ordered.items;
    const clauses = conjuncts(filter);
    const bounds = clauses.filter((c): c is CompareNode =>
      ordered.ascending && c.kind === 'compare' && c.property === ordered.property && c.literal.kind === 'datetime' && ['gt', 'ge', 'lt', 'le'].includes(c.op));
    if (!bounds.some((b) => b.op === 'gt' || b.op === 'ge')) return ordered.items.filter((item) => evaluateFilter(filter, item));
    let lo = 0;
    let hi = ordered.items.length;
    for (const bound of bounds) {
      const ticks = (bound.literal as { ticks: bigint }).ticks;
      // Items without the property sort as 0 and fall below any lower bound.
      if (bound.op === 'gt') lo = Math.max(lo, firstIndex(ordered.ticks, (t) => t > ticks));
      if (bound.op === 'ge') lo = Math.max(lo, firstIndex(ordered.ticks, (t) => t >= ticks));
      if (bound.op === 'lt') hi = Math.min(hi, firstIndex(ordered.ticks, (t) => t >= ticks));
      if (bound.op === 'le') hi = Math.min(hi, firstIndex(ordered.ticks, (t) => t > ticks));
    }
    const rest = clauses.filter((c) => !bounds.includes(c as CompareNode));
    if (!rest.length) {
      // A view of the index between the bounds, not a copy: at 500k alerts each window query
      // copied up to 4 MB of references, garbage that only a full collection of the simulator's
      // multi-GB heap freed, on the cores the input being measured needs.
      const length = Math.max(0, hi - lo);
      return { length, slice: (start, end) => ordered.items.slice(lo + Math.min(start, length), lo + Math.min(end, length)) };
    }
    return ordered.items.slice(lo, Math.max(lo, hi)).filter((item) => rest.every((c) => evaluateFilter(c, item)));
  }

  /** The whole collection in one order, sorted once per version of the collection. */
  private ordered(collection: Collection, orderBy: OrderBy | undefined): OrderedList {
    const map = collection === 'alerts' ? this.alerts : this.incidents;
    const key = `${collection}|${orderBy ? `${orderBy.property} ${orderBy.direction}` : ''}`;
    const cached = this.orderCache.get(key);
    if (cached && cached.version === map.version) return cached;
    const property = orderBy?.property ?? 'createdDateTime';
    const ascending = orderBy?.direction === 'asc';
    const sign = ascending ? 1 : -1;
    const keyed = [...map.values()].map((item) => ({ item, ticks: toTicks(String((item as unknown as Record<string, unknown>)[property])) ?? 0n }));
    keyed.sort((a, b) => (a.ticks === b.ticks ? (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0) : a.ticks > b.ticks ? sign : -sign));
    const list: OrderedList = { version: map.version, property, ascending, items: keyed.map((k) => k.item), ticks: keyed.map((k) => k.ticks) };
    this.orderCache.set(key, list);
    return list;
  }

  private contextUrl(collection: Collection, expand: boolean, entity: boolean): string {
    const set = collection === 'alerts' ? 'security/alerts_v2' : `security/incidents${expand ? '(alerts())' : ''}`;
    return `${this.baseUrl}/v1.0/$metadata#${set}${entity ? '/$entity' : ''}`;
  }

  /** The same request with `$skip` advanced, as an absolute URL on this server. */
  private nextLink(ctx: RequestContext, skip: number): string {
    const pairs = ctx.queryPairs.filter(([k]) => normalizeOption(k) !== 'skip');
    pairs.push(['$skip', String(skip)]);
    const query = pairs.map(([k, v]) => `${encodeOptionName(k)}=${encodeURIComponent(v)}`).join('&');
    return `${this.baseUrl}${ctx.path}?${query}`;
  }

  private graphHeaders(ctx: RequestContext, error: boolean): Record<string, string> {
    return {
      'Content-Type': error ? 'application/json' : GRAPH_CONTENT_TYPE,
      'Cache-Control': 'no-cache',
      'Strict-Transport-Security': 'max-age=31536000',
      'OData-Version': '4.0',
      'request-id': ctx.requestId,
      'client-request-id': ctx.clientRequestId,
      'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'West Europe', Slice: 'E', Ring: '5', ScaleUnit: '003', RoleInstance: 'AM2PEPF0001A2B3' } }),
      'x-ms-resource-unit': '1',
    };
  }

  private graphErrorReply(ctx: RequestContext, err: GraphError): Reply {
    const body = {
      error: {
        code: err.code,
        message: err.message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': ctx.requestId,
          'client-request-id': ctx.clientRequestId,
        },
      },
    };
    return { status: err.status, headers: { ...this.graphHeaders(ctx, true), ...err.headers }, body: JSON.stringify(body) };
  }
}

// ---------------------------------------------------------------------------------------
// Graph helpers

/** Roles are read live from the app, so `revokeRole` takes effect on the next request. */
function authorize(app: SimulatorApp, collection: Collection): void {
  const required = REQUIRED_ROLES[collection];
  if (!required.some((r) => app.roles.includes(r))) {
    throw new GraphError(403, 'Forbidden', `Missing application permissions: ${required[0]}`);
  }
}

/** The write role exactly: an app with only the read role can list but not change. */
function authorizeWrite(app: SimulatorApp, collection: Collection): void {
  const required = WRITE_ROLES[collection];
  if (!app.roles.includes(required)) {
    throw new GraphError(403, 'Forbidden', `Missing application permissions: ${required}`);
  }
}

/** `security/<set>[/<id>[/comments]]`. */
function graphTarget(segments: string[]): { collection: Collection; id?: string; sub?: 'comments' } {
  const [root, set, id, extra, ...more] = segments;
  if (root?.toLowerCase() !== 'security') throw notFoundSegment(root ?? '');
  const collection = set?.toLowerCase() === 'alerts_v2' ? 'alerts' : set?.toLowerCase() === 'incidents' ? 'incidents' : undefined;
  if (!collection) throw notFoundSegment(set ?? '');
  if (extra !== undefined && extra.toLowerCase() !== 'comments') throw notFoundSegment(extra);
  if (more.length) throw notFoundSegment(more[0]!);
  return { collection, id, sub: extra === undefined ? undefined : 'comments' };
}

function notFoundItem(collection: Collection, id: string): GraphError {
  return new GraphError(404, 'NotFound', `${collection === 'alerts' ? 'Alert' : 'Incident'} with id '${id}' was not found.`);
}

/** A request body must be one JSON object (Graph's own message otherwise). */
function jsonBody(ctx: RequestContext): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ctx.body);
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed)) {
    throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  return parsed;
}

/**
 * unknownFutureValue is a marker, never a value to set; members after it (evolvable, such as
 * incident status awaitingAction) are understood only with Prefer: include-unknown-enum-members.
 */
function enumAccepts(members: readonly string[], value: string, includeUnknown: boolean): boolean {
  const index = members.indexOf(value);
  const sentinel = members.indexOf('unknownFutureValue');
  if (index < 0 || index === sentinel) return false;
  return index < sentinel || includeUnknown;
}

function notFoundSegment(segment: string): GraphError {
  return new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

function unauthorized(base: string, message: string): GraphError {
  return new GraphError(401, 'InvalidAuthenticationToken', message, {
    'WWW-Authenticate': `Bearer realm="", authorization_uri="${base}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
  });
}

interface ListOptions {
  top: number;
  skip: number;
  count: boolean;
  expand: boolean;
  filter?: FilterNode;
  orderBy?: OrderBy;
}

interface OrderBy {
  property: string;
  direction: 'asc' | 'desc';
}

type CompareNode = Extract<FilterNode, { kind: 'compare' }>;

/** A collection sorted by one time property, with each item's ticks for binary search. */
/** Items matching a query, in order: an array, or a view of a sorted index. */
interface ItemRun {
  readonly length: number;
  slice(start: number, end: number): (Alert | Incident)[];
}

interface OrderedList {
  version: number;
  property: string;
  ascending: boolean;
  items: (Alert | Incident)[];
  ticks: bigint[];
}

/** The clauses of a chain of `and`s (a filter without `and` is one clause). */
function conjuncts(node: FilterNode): FilterNode[] {
  return node.kind === 'and' ? [...conjuncts(node.left), ...conjuncts(node.right)] : [node];
}

/** The first index whose value passes `test`, for a test that is false then true along the array. */
function firstIndex(values: readonly bigint[], test: (value: bigint) => boolean): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(values[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** `$top`, `top` and `$TOP` are the same option to Graph. */
function normalizeOption(name: string): string {
  const bare = name.toLowerCase().replace(/^\$/, '');
  return SYSTEM_QUERY_OPTIONS.has(bare) ? bare : name;
}

function encodeOptionName(name: string): string {
  return encodeURIComponent(name).replace(/^%24/, '$');
}

/** Reads each system query option once; repeating one is a 400 in Graph. */
function queryOptions(ctx: RequestContext): Map<string, string> {
  const options = new Map<string, string>();
  for (const [key, value] of ctx.queryPairs) {
    const name = normalizeOption(key);
    if (!SYSTEM_QUERY_OPTIONS.has(name)) continue;
    if (options.has(name)) {
      throw new GraphError(400, 'BadRequest', `Query option '$${name}' was specified more than once, but it must be specified at most once.`);
    }
    options.set(name, value);
  }
  return options;
}

function parseListOptions(ctx: RequestContext, collection: Collection): ListOptions {
  const options = queryOptions(ctx);
  const limit = PAGE_LIMITS[collection];
  const top = parseNonNegative(options.get('top'), '$top') ?? limit;
  if (top > limit) {
    throw new GraphError(400, 'BadRequest', `The limit of '${limit}' for Top query has been exceeded. The value from the incoming request is '${top}'.`);
  }
  const skip = parseNonNegative(options.get('skip'), '$skip') ?? 0;
  const count = parseCount(options.get('count'));
  const expand = parseExpandValue(options.get('expand'), collection);
  const filterText = options.get('filter');
  const orderBy = parseOrderBy(options.get('orderby'), collection);
  return { top, skip, count, expand, orderBy, filter: filterText === undefined ? undefined : parseFilterOption(filterText, collection) };
}

/** `$orderby=<time property> [asc|desc]`; one clause, as the inputs send it. */
function parseOrderBy(raw: string | undefined, collection: Collection): OrderBy | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const schema = collection === 'alerts' ? ALERT_SCHEMA : INCIDENT_SCHEMA;
  const m = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(raw);
  if (!m) throw new GraphError(400, 'BadRequest', `Syntax error at position ${raw.length} in '${raw}'.`);
  const property = m[1]!;
  if (schema.fields[property]?.type !== 'datetime') {
    throw new GraphError(400, 'BadRequest', `Could not find a property named '${property}' on type '${schema.typeName}'.`);
  }
  return { property, direction: (m[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc' };
}

function parseFilterOption(text: string, collection: Collection): FilterNode {
  try {
    return parseFilter(text, collection === 'alerts' ? ALERT_SCHEMA : INCIDENT_SCHEMA);
  } catch (err) {
    if (err instanceof ODataFilterError) throw new GraphError(400, 'BadRequest', `Invalid filter clause: ${err.message}`);
    throw err;
  }
}

function parseNonNegative(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new GraphError(400, 'BadRequest', `Invalid value '${raw}' for ${name} query option found. The ${name} query option requires a non-negative integer value.`);
  }
  return Number(raw);
}

function parseCount(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (v !== 'true' && v !== 'false') throw new GraphError(400, 'BadRequest', `'${raw}' is not a valid count option.`);
  return v === 'true';
}

function parseExpand(ctx: RequestContext, collection: Collection): boolean {
  return parseExpandValue(queryOptions(ctx).get('expand'), collection);
}

/** Only incidents have a navigation property (`alerts`); anything else is Graph's "could not find a property". */
function parseExpandValue(raw: string | undefined, collection: Collection): boolean {
  if (raw === undefined || raw.trim() === '') return false;
  const names = raw.split(',').map((s) => s.trim());
  for (const name of names) {
    if (collection !== 'incidents' || name.toLowerCase() !== 'alerts') {
      const type = collection === 'alerts' ? ALERT_SCHEMA.typeName : INCIDENT_SCHEMA.typeName;
      throw new GraphError(400, 'BadRequest', `Could not find a property named '${name}' on type '${type}'.`);
    }
  }
  return true;
}

function prefersUnknownEnums(headers: IncomingHttpHeaders): boolean {
  const raw = headers.prefer;
  const values = (Array.isArray(raw) ? raw : [raw ?? '']).flatMap((v) => v.split(','));
  return values.some((v) => v.trim().toLowerCase() === PREFER_UNKNOWN_ENUMS);
}

/** A wire copy: evolvable enum members masked unless asked for; `alerts` only with $expand. */
/** A Map that counts its changes, so lists computed from it know when they are stale. */
export class VersionedMap<K, V> extends Map<K, V> {
  version = 0;
  override set(key: K, value: V): this {
    this.version++;
    return super.set(key, value);
  }
  override delete(key: K): boolean {
    this.version++;
    return super.delete(key);
  }
  override clear(): void {
    this.version++;
    super.clear();
  }
}

const alertJson = [new WeakMap<Alert, Buffer>(), new WeakMap<Alert, Buffer>()];
/** Documents stored by seedDocuments: served as written. */
const VERBATIM = new WeakSet<object>();
const COMMA = Buffer.from(',');

/**
 * An item as the list serves it, as UTF-8 bytes. An alert's JSON is kept per object (a changed
 * alert is a new object); incidents are written each time, since their alerts list is edited in place.
 */
function presentedJson(item: Alert | Incident, includeUnknown: boolean, expand: boolean): Buffer {
  if (VERBATIM.has(item)) return Buffer.from(JSON.stringify(present(item, includeUnknown, expand)));
  if (item['@odata.type'] === '#microsoft.graph.security.alert') {
    const cache = alertJson[includeUnknown ? 1 : 0];
    let json = cache.get(item);
    if (json === undefined) {
      json = Buffer.from(JSON.stringify(presentAlert(item, includeUnknown)));
      cache.set(item, json);
    }
    return json;
  }
  return Buffer.from(JSON.stringify(present(item, includeUnknown, expand)));
}

function present(item: Alert | Incident, includeUnknown: boolean, expand: boolean): Record<string, unknown> {
  if (VERBATIM.has(item)) {
    if (expand || !('alerts' in item)) return { ...item };
    const { alerts: _alerts, ...rest } = item as Incident;
    return rest;
  }
  if (item['@odata.type'] === '#microsoft.graph.security.alert') return presentAlert(item, includeUnknown);
  const { alerts, ...rest } = item;
  const out: Record<string, unknown> = { ...rest, status: mask(rest.status, EVOLVABLE.incidentStatus, includeUnknown) };
  if (expand) out.alerts = (alerts ?? []).map((a) => presentAlert(a, includeUnknown));
  return out;
}

function presentAlert(alert: Alert, includeUnknown: boolean): Record<string, unknown> {
  return {
    ...alert,
    serviceSource: mask(alert.serviceSource, EVOLVABLE.serviceSource, includeUnknown),
    detectionSource: mask(alert.detectionSource, EVOLVABLE.detectionSource, includeUnknown),
  };
}

function mask(value: string, evolvable: ReadonlySet<string>, includeUnknown: boolean): string {
  return !includeUnknown && evolvable.has(value) ? 'unknownFutureValue' : value;
}

function defaultGraphError(status: number): [string, string] {
  switch (status) {
    case 400: return ['BadRequest', 'Bad request.'];
    case 401: return ['InvalidAuthenticationToken', 'Access token validation failure.'];
    case 403: return ['Forbidden', 'Forbidden.'];
    case 404: return ['NotFound', 'Not found.'];
    case 429: return ['TooManyRequests', 'Too many requests'];
    case 500: return ['InternalServerError', 'An internal server error occurred while processing the request.'];
    case 502: return ['BadGateway', 'Bad gateway.'];
    case 503: return ['ServiceUnavailable', 'The service is currently unavailable. Please try again later.'];
    case 504: return ['GatewayTimeout', 'The gateway did not receive a response in time.'];
    default: return ['UnknownError', `HTTP ${status}`];
  }
}

function defaultEntraError(status: number): [string, number, string] {
  if (status === 429 || status >= 500) return ['temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.'];
  return ['invalid_request', 90000, `Request failed with HTTP ${status}.`];
}

function customBodyReply(status: number, headers: Record<string, string>, body: unknown): Reply {
  if (typeof body === 'string') {
    const type = body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
    return { status, headers: { ...headers, 'Content-Type': type }, body };
  }
  return { status, headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

/** Graph, and Defender for Endpoint's API whose errors have the same {"error":{code,message}} shape. */
function isGraphPath(path: string): boolean {
  return /^\/(v1\.0|api)(\/|$)/i.test(path);
}

// ---------------------------------------------------------------------------------------
// Entra helpers

function requireParam(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null || value === '') {
    throw new EntraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
  }
  return value;
}

function isFormEncoded(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** client_secret_basic: `Authorization: Basic base64(urlencode(id):urlencode(secret))`. */
function basicCredentials(headers: IncomingHttpHeaders): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(headerValue(headers.authorization) ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { clientId: safeDecode(decoded.slice(0, colon)), secret: safeDecode(decoded.slice(colon + 1)) };
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function normalizeResource(resource: string): string {
  return resource.toLowerCase().replace(/\/+$/, '');
}

interface JwtParts {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJwt(jwt: string): JwtParts | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    if (!isRecord(header) || !isRecord(payload)) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return undefined;
  }
}

/**
 * Validates a certificate client assertion the way Entra does: registered key (by
 * `x5t#S256`, or legacy `x5t`), RS256/PS256 signature, iss = sub = client_id, aud = the
 * token endpoint (or issuer), and exp/nbf within a 5-minute skew.
 */
function verifyClientAssertion(jwt: string, app: SimulatorApp, tokenEndpoint: string, issuer: string): void {
  const parts = decodeJwt(jwt);
  if (!parts) throw new EntraError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
  const cert = app.certificatePem ? new X509Certificate(app.certificatePem) : undefined;
  const presented = String(parts.header['x5t#S256'] ?? parts.header.x5t ?? '');
  if (!cert || !thumbprintMatches(cert, parts.header)) {
    throw new EntraError(401, 'invalid_client', 700027, `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${presented}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.]`);
  }
  if (!signatureValid(parts, cert)) {
    throw new EntraError(401, 'invalid_client', 700027, 'Client assertion contains an invalid signature. [Reason - The key was found, but signature verification failed.]');
  }
  const { iss, sub, aud, exp, nbf } = parts.payload;
  if (iss !== app.clientId || sub !== app.clientId) {
    throw new EntraError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .");
  }
  const audiences = (Array.isArray(aud) ? aud : [aud]).map((a) => String(a).toLowerCase());
  if (!audiences.includes(tokenEndpoint.toLowerCase()) && !audiences.includes(issuer.toLowerCase())) {
    throw new EntraError(401, 'invalid_client', 700023, `Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`);
  }
  checkAssertionLifetime(exp, nbf);
}

function thumbprintMatches(cert: X509Certificate, header: Record<string, unknown>): boolean {
  const sha256 = createHash('sha256').update(cert.raw).digest('base64url');
  const sha1 = createHash('sha1').update(cert.raw).digest('base64url');
  return header['x5t#S256'] === sha256 || (header['x5t#S256'] === undefined && header.x5t === sha1);
}

function signatureValid(parts: JwtParts, cert: X509Certificate): boolean {
  const data = Buffer.from(parts.signingInput);
  switch (parts.header.alg) {
    case 'RS256':
      return verify('sha256', data, cert.publicKey, parts.signature);
    case 'PS256':
      return verify('sha256', data, { key: cert.publicKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST }, parts.signature);
    default:
      return false;
  }
}

function checkAssertionLifetime(exp: unknown, nbf: unknown): void {
  const now = Math.floor(Date.now() / 1000);
  const fmt = (s: unknown) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : 'none');
  const expired = typeof exp !== 'number' || now > exp + CLOCK_SKEW_SECONDS;
  const early = typeof nbf === 'number' && nbf > now + CLOCK_SKEW_SECONDS;
  if (expired || early) {
    throw new EntraError(401, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}, assertion valid from ${fmt(nbf)}, expiry time of assertion ${fmt(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`);
  }
}

// ---------------------------------------------------------------------------------------
// HTTP plumbing

const MAX_BODY_BYTES = 1 << 20;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const parts = bodyParts(reply);
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(parts.reduce((n, p) => n + p.length, 0)) });
  res.cork();
  for (const part of parts) res.write(part);
  res.uncork();
  res.end();
}

/** Promise the whole body in Content-Length, deliver half, then drop the connection. */
function sendTruncated(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const body = Buffer.concat(bodyParts(reply));
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(body.length) });
  const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
  res.write(half, () => res.socket?.destroy());
}

function bodyParts(reply: Reply): Buffer[] {
  if (Array.isArray(reply.body)) return reply.body;
  return [typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body];
}

/** A TCP RST when possible, so clients see ECONNRESET rather than a clean close. */
function resetConnection(req: IncomingMessage): void {
  const socket = req.socket;
  if (typeof socket.resetAndDestroy === 'function') {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // TLS sockets may not expose a TCP handle; fall through to a plain destroy.
    }
  }
  socket.destroy();
}

function redactHeaders(headers: IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const copy: Record<string, string | string[] | undefined> = { ...headers };
  for (const name of ['authorization', 'cookie', 'proxy-authorization']) {
    const value = headerValue(headers[name]);
    if (value !== undefined) copy[name] = `${value.split(/\s+/)[0] ?? ''} [redacted]`;
  }
  return copy;
}

function requestUrl(req: IncomingMessage): URL {
  const raw = req.url ?? '/';
  return raw.startsWith('/') ? new URL(`https://simulator.invalid${raw}`) : new URL(raw);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function tryUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
