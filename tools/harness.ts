/**
 * Starts the stand-ins (Graph/Entra/Defender for Endpoint simulator over https with a self-signed certificate, splunkd
 * REST stand-in), provisions an account the way the configuration page would, and runs the built
 * inputs exactly as splunkd does: the launcher, configuration XML on stdin, stdout read as a stream.
 * Used by `npm start` and the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { GraphSimulator, type GraphSimulatorOptions } from './simulator/graph.js';
import { SplunkdStandIn } from './simulator/splunkd.js';
import { makeLocalCertificate } from './simulator/tls.js';

export const APP = 'TA-defender-xdr';
/** Prefix of every test secret; must never appear in anything an input prints. */
export const SECRET_CANARY = 'Canary~';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const APP_DIR = path.join(ROOT, 'dist', APP);

export interface StandIns {
  graph: GraphSimulator;
  splunkd: SplunkdStandIn;
  sessionKey: string;
  workDir: string;
  caFile: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  stop(): Promise<void>;
}

export async function startStandIns(options: Partial<Pick<GraphSimulatorOptions, 'expandFailsWithFilter'>> = {}): Promise<StandIns> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'ta-defender-xdr-'));
  const tls = await makeLocalCertificate();
  const caFile = path.join(workDir, 'simulator-ca.pem');
  writeFileSync(caFile, tls.cert);
  const tenantId = randomUUID();
  const clientId = randomUUID();
  // Every secret the tests hand the add-on starts with a canary, so CI can scan everything the
  // inputs printed during the whole suite (TA_TEST_OUTPUT_LOG) for a leak.
  const clientSecret = `${SECRET_CANARY}${randomBytes(18).toString('base64url')}`;
  const graph = new GraphSimulator({
    tls,
    apps: [{ tenantId, clientId, clientSecret, roles: ['SecurityAlert.Read.All', 'SecurityIncident.Read.All', 'Alert.Read.All', 'ThreatHunting.Read.All', 'Machine.Read.All', 'Vulnerability.Read.All'] }],
    ...options,
  });
  await graph.start();
  const sessionKey = `${SECRET_CANARY}session-${randomBytes(24).toString('hex')}`;
  const splunkd = new SplunkdStandIn({ sessionKey });
  // As on a forwarder: the app's shipped default/*.conf are visible through REST.
  splunkd.loadConfDir(APP, path.join(ROOT, 'default'));
  await splunkd.start();
  return {
    graph, splunkd, sessionKey, workDir, caFile, tenantId, clientId, clientSecret,
    stop: async () => {
      await Promise.all([graph.stop(), splunkd.stop()]);
    },
  };
}

/** Creates the account stanza and its secret, as the configuration page does. */
export function provisionAccount(s: StandIns, name = 'demo', overrides: Record<string, string> = {}, secret: string | null = s.clientSecret): void {
  s.splunkd.setConfStanza(APP, 'defender_xdr_account', name, {
    tenant_id: s.tenantId,
    client_id: s.clientId,
    auth_type: 'client_secret',
    cloud: 'custom',
    login_url: s.graph.baseUrl,
    graph_url: s.graph.baseUrl,
    mde_url: s.graph.baseUrl,
    ca_file: s.caFile,
    ...overrides,
  });
  // null: no secret stored (an explicit undefined would take the default).
  if (secret !== null) s.splunkd.setPassword(APP, APP, name, secret);
}

export function runConfigXml(s: StandIns, scheme: string, name: string, params: Record<string, string>, checkpointDir: string): string {
  return runConfigXmlMany(s, [{ stanza: `${scheme}://${name}`, params }], checkpointDir);
}

/**
 * The run XML of a single-instance input (`<use_single_instance>true`): splunkd starts one process
 * for the scheme with every enabled stanza in one `<configuration>`.
 */
export function runConfigXmlMany(s: StandIns, stanzas: { stanza: string; params: Record<string, string> }[], checkpointDir: string): string {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const stanzaXml = stanzas.map(({ stanza, params }) => {
    const paramXml = Object.entries(params).map(([k, v]) => `<param name="${esc(k)}">${esc(v)}</param>`).join('');
    return `<stanza name="${esc(stanza)}" app="${APP}">${paramXml}</stanza>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<input><server_host>hf01</server_host><server_uri>${esc(s.splunkd.serverUri)}</server_uri><session_key>${esc(s.sessionKey)}</session_key>
<checkpoint_dir>${esc(checkpointDir)}</checkpoint_dir>
<configuration>${stanzaXml.join('')}</configuration></input>`;
}

export function validateConfigXml(s: StandIns, name: string, params: Record<string, string>): string {
  return runConfigXml(s, 'x', name, params, path.join(s.workDir, 'cp'))
    .replace(/<input>/, '<items>').replace(/<\/input>$/, '</items>')
    .replace(/<configuration><stanza name="[^"]*" app="[^"]*">/, `<item name="${name}">`)
    .replace(/<\/stanza><\/configuration>/, '</item>');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/<scheme>.sh (what splunkd starts on Linux) with stdin, like ExecProcessor (or sendmodalert for an action). */
export function runInputProcess(scheme: string, args: string[], stdin: string, opts: { killAfterStdoutBytes?: number; env?: Record<string, string>; onSpawn?: (child: ChildProcess) => void } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(APP_DIR, 'bin', `${scheme}.sh`), args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (opts.killAfterStdoutBytes !== undefined && stdout.length >= opts.killAfterStdoutBytes) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const log = process.env.TA_TEST_OUTPUT_LOG;
      if (log) appendFileSync(log, `${stdout}\n${stderr}\n`);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/**
 * Writes search results as splunkd does for an alert action (results.csv.gz): a header row, and
 * for every field its `__mv_` twin, which holds `$v1$;$v2$` for multivalue cells and is empty otherwise.
 */
export function writeResultsFile(dir: string, rows: Record<string, string | string[]>[]): string {
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const header = fields.flatMap((f) => [f, `__mv_${f}`]);
  const records = rows.map((row) =>
    fields.flatMap((f) => {
      const value = row[f];
      if (Array.isArray(value)) return [value.join('\n'), value.map((v) => `$${v.replace(/\$/g, '$$$$')}$`).join(';')];
      return [value ?? '', ''];
    }),
  );
  const file = path.join(mkdtempSync(path.join(dir, 'results-')), 'results.csv.gz');
  writeFileSync(file, gzipSync(stringify([header, ...records])));
  return file;
}

/** The JSON payload splunkd writes to an alert action's stdin (payload_format = json). */
export function actionPayload(s: StandIns, action: string, configuration: Record<string, string>, resultsFile?: string): string {
  return JSON.stringify({
    app: 'search',
    owner: 'admin',
    results_file: resultsFile,
    results_link: 'http://sh01:8000/app/search/search?q=%7Cloadjob%20scheduler__admin__search__RMD5_at_1700000000_1',
    search_uri: '/servicesNS/admin/search/saved/searches/Defender%20triage',
    server_host: 'sh01',
    server_uri: s.splunkd.serverUri,
    session_key: s.sessionKey,
    sid: 'scheduler__admin__search__RMD5_at_1700000000_1',
    search_name: 'Defender triage',
    configuration,
    result: {},
    action,
  });
}

/** Runs bin/<action>.sh --execute with the payload on stdin, as splunkd's sendmodalert does. */
export function runActionProcess(action: string, payload: string, opts: { env?: Record<string, string> } = {}): Promise<RunResult> {
  return runInputProcess(action, ['--execute'], payload, opts);
}

export interface StreamEvent {
  stanza: string;
  time: number;
  sourcetype: string;
  source?: string;
  index?: string;
  data: string;
}

const streamParser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, trimValues: false, isArray: (n) => n === 'event' });

/** Parses a modular-input stream as splunkd would; a stream cut by a kill keeps only its complete events. */
export function parseStream(stdout: string, { complete = true } = {}): StreamEvent[] {
  let xml = stdout;
  if (!complete) {
    const lastEnd = xml.lastIndexOf('</event>');
    xml = lastEnd < 0 ? '<stream></stream>' : `${xml.slice(0, lastEnd + '</event>'.length)}</stream>`;
  }
  if (!xml.trim()) return [];
  const doc = streamParser.parse(xml) as { stream?: { event?: Record<string, string>[] } | '' };
  const events = (doc.stream && typeof doc.stream === 'object' ? doc.stream.event : undefined) ?? [];
  return events.map((e) => ({ stanza: e.stanza, time: Number(e.time), sourcetype: e.sourcetype, source: e.source, index: e.index, data: e.data }));
}

/**
 * Registers every scheme of the built app with the splunkd stand-in as splunkd does at start-up:
 * runs `bin/<scheme>.sh --scheme`, reads the declared arguments, and validates creates and edits by
 * running the launcher with `--validate-arguments` when the scheme asks for external validation.
 */
export async function registerAppSchemes(splunkd: SplunkdStandIn): Promise<string[]> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'arg' });
  // splunkd knows a modular input by its README/inputs.conf.spec stanza (bin/ also holds alert actions).
  const spec = readFileSync(path.join(APP_DIR, 'README', 'inputs.conf.spec'), 'utf8');
  const schemes = [...spec.matchAll(/^\[([A-Za-z0-9_]+):\/\/<name>\]/gm)].map((m) => m[1]);
  if (!schemes.length) throw new Error('no modular input stanza in README/inputs.conf.spec');
  for (const scheme of schemes) {
    const result = await runInputProcess(scheme, ['--scheme'], '');
    if (result.code !== 0) throw new Error(`${scheme} --scheme failed: ${result.stderr}`);
    const doc = parser.parse(result.stdout) as { scheme: { use_external_validation?: string; endpoint?: { args?: { arg?: { name: string; required_on_create?: string }[] } } } };
    const args = (doc.scheme.endpoint?.args?.arg ?? []).map((a) => ({ name: a.name, requiredOnCreate: String(a.required_on_create) === 'true' }));
    const external = String(doc.scheme.use_external_validation) === 'true';
    splunkd.registerModularInput({
      scheme,
      args,
      validate: external ? (xml) => runInputProcess(scheme, ['--validate-arguments'], xml) : undefined,
    });
  }
  return schemes;
}
