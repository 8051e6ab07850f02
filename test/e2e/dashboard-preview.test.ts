/**
 * A rendered preview of each shipped dashboard, for a person to look at: test/artifacts/<view>.png.
 *
 * Data: the built inputs run against the Graph simulator under a temporary SPLUNK_HOME (two polls,
 * with updates between them, throttling, a reset and a wrong secret); their streamed events and
 * their ta_defender_xdr.log lines get their fields from the shipped props/transforms (search-time
 * model), then each data source's SPL (macros expanded, chains joined) runs over them in a small SPL
 * model (test/helpers/splRun.ts). The results feed static data sources (ds.test) in place of the
 * searches. Rendering: Splunk's Dashboard Studio (@splunk/dashboard-core, Enterprise view-only
 * preset) bundled by esbuild, in headless Chromium. The same page validates each definition with
 * @splunk/dashboard-validation against the schema of the full Enterprise preset.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { ADDON_LOG_NAME } from '../../src/splunk/logFile.js';
import { actionPayload, parseStream, provisionAccount, ROOT, runActionProcess, runConfigXml, runInputProcess, startStandIns, writeResultsFile, type StandIns } from '../../tools/harness.js';
import { launchChromium } from '../helpers/chromium.js';
import { confOf, effectiveQuery, loadViews, type Definition } from '../helpers/dashboards.js';
import { ACTION_LOG_SAMPLE_FILE, logSampleFields } from '../helpers/logSample.js';
import { evaluate, loadApp } from '../helpers/searchtime/index.js';
import { runSpl, toColumns, type Row } from '../helpers/splRun.js';

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const PAGE_DIR = path.join(ARTIFACTS, 'preview');
const WIDTH = 1440;

let s: StandIns;
let browser: BrowserContext;
let rows: Row[] = [];
/** now() of the searches: after the polls, as when someone opens the dashboard. */
let nowS = 0;

before(async () => {
  mkdirSync(PAGE_DIR, { recursive: true });
  const [, data] = await Promise.all([bundlePage(), collectData()]);
  rows = data;
  nowS = Date.now() / 1000;
  browser = await launchChromium(mkdtempSync(path.join(tmpdir(), 'ta-preview-chromium-')), { width: WIDTH, height: 1000 });
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

/** Bundles the page unless the bundle of the same page and the same locked dependencies is there. */
async function bundlePage(): Promise<void> {
  const entry = path.join(ROOT, 'test', 'preview', 'page.jsx');
  const key = createHash('sha256').update(readFileSync(entry)).update(readFileSync(path.join(ROOT, 'package-lock.json'))).digest('hex');
  const stamp = path.join(PAGE_DIR, 'bundle.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key && existsSync(path.join(PAGE_DIR, 'page.js'))) return;
  await build({
    entryPoints: [entry],
    outfile: path.join(PAGE_DIR, 'page.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    loader: { '.js': 'jsx' },
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    logLevel: 'error',
  });
  writeFileSync(stamp, key);
  writeFileSync(
    path.join(PAGE_DIR, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="page.css"><style>html,body{margin:0;width:${WIDTH}px}#root{width:${WIDTH}px;min-height:900px}</style></head><body><div id="root"></div><script src="page.js"></script></body></html>`,
  );
}

/** Events and log lines as the built inputs produce them, with their search-time fields. */
async function collectData(): Promise<Row[]> {
  s = await startStandIns();
  provisionAccount(s, 'prod');
  provisionAccount(s, 'wrong', {}, 'Canary~wrong-preview-secret');
  const home = mkdtempSync(path.join(s.workDir, 'splunk-home-'));
  mkdirSync(path.join(home, 'var', 'log', 'splunk'), { recursive: true });
  const day = 86_400_000;
  const incidents = s.graph.addIncidents(14, { alertsPerIncident: 3, at: new Date(Date.now() - 60_000), spreadMs: 6 * day });
  s.graph.addAlerts(30, { at: new Date(Date.now() - 60_000), spreadMs: 6 * day });
  const checkpoints = { alerts: mkdtempSync(path.join(s.workDir, 'cp-')), incidents: mkdtempSync(path.join(s.workDir, 'cp-')) };
  const params = { account: 'prod', start_date: new Date(Date.now() - 8 * day).toISOString(), interval: '300' };
  const poll = async (scheme: 'alerts' | 'incidents', name = 'prod', p: Record<string, string> = params) => {
    const r = await runInputProcess(`defender_xdr_${scheme}`, [], runConfigXml(s, `defender_xdr_${scheme}`, name, p, checkpoints[scheme]), { env: { SPLUNK_HOME: home } });
    return parseStream(r.stdout);
  };
  s.graph.faults.push({ match: /alerts_v2/, fault: { kind: 'status', status: 429, retryAfter: '0' }, times: 2 });
  const events = (await Promise.all([poll('alerts'), poll('incidents')])).flat();
  // Analysts work: a second version of some incidents, resolved; the next polls collect the updates.
  for (const incident of incidents.slice(0, 5)) s.graph.updateIncident(incident.id, { status: 'resolved' });
  s.graph.faults.push({ match: /alerts_v2/, fault: { kind: 'reset' }, times: 1 });
  events.push(...(await Promise.all([poll('alerts'), poll('incidents'), poll('alerts', 'wrong', { account: 'wrong' })])).flat());
  events.push(...(await collectDeviceEvents(home)));

  const app = loadApp(ROOT);
  const toRow = (fields: Map<string, string[]>, time: number): Row => {
    const row: Row = { _time: time };
    for (const [k, v] of fields) if (k !== '_raw') row[k] = v.length === 1 ? v[0] : v;
    return row;
  };
  const data = events.map((e) => toRow(evaluate(app, { sourcetype: e.sourcetype, raw: e.data }).fields, e.time));
  const logFile = path.join(home, 'var', 'log', 'splunk', ADDON_LOG_NAME);
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  // Refreshes the committed sample of the action's lines (test/dashboards/defender_device_action.log.sample).
  if (process.env.TA_WRITE_ACTION_LOG_SAMPLE) writeFileSync(process.env.TA_WRITE_ACTION_LOG_SAMPLE, lines.filter((l) => l.includes(' action=defender_device_action ')).join('\n') + '\n');
  for (const line of lines) {
    const time = Date.parse(line.slice(0, 23).replace(' ', 'T') + 'Z') / 1000;
    data.push(toRow(evaluate(app, { sourcetype: 'ta:defender:xdr:log', source: logFile, raw: line }).fields, time));
  }
  // A search returns events newest first.
  return data.sort((a, b) => Number(b._time) - Number(a._time));
}

/** What the simulator holds at the end: the truth the devices row must show. */
interface DeviceTruth {
  exposure: Record<string, number>;
  risk: Record<string, number>;
  /** Per device name: distinct critical and high CVEs it still has. */
  vulnerable: Map<string, { critical: number; high: number }>;
  /** device, outcome, action, in the order they ran. */
  actions: Array<{ device: string; outcome: string }>;
}
let truth: DeviceTruth;
let patchedDevice: { name: string; before: number };

/**
 * Devices as the built inputs and action produce them: two inventory polls with a device's exposure
 * changed in between, a full vulnerability export then a delta carrying a Fixed change, and
 * defender_device_action isolating three devices, repeating one and naming an unknown one.
 */
async function collectDeviceEvents(home: string): Promise<ReturnType<typeof parseStream>> {
  const devices = s.graph.mde.devices;
  for (const role of ['Machine.Read.All', 'Vulnerability.Read.All', 'Machine.Isolate']) s.graph.grantRole(s.clientId, role);
  devices.actionTimings = { pendingMs: 200, runningMs: 200 };
  const machines = devices.addMachines(24);
  const records = devices.addVulnerabilities(machines.slice(0, 16), 2);
  const cp = { defender_endpoint_machines: mkdtempSync(path.join(s.workDir, 'cp-')), defender_endpoint_vulnerabilities: mkdtempSync(path.join(s.workDir, 'cp-')) };
  const poll = async (scheme: keyof typeof cp) => {
    const r = await runInputProcess(scheme, [], runConfigXml(s, scheme, 'prod', { account: 'prod', interval: '3600' }, cp[scheme]), { env: { SPLUNK_HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    return parseStream(r.stdout);
  };
  const events = [...(await poll('defender_endpoint_machines')), ...(await poll('defender_endpoint_vulnerabilities'))];
  // Between polls: a device's exposure rises, and a critical (else high) vulnerability is patched.
  const changed = machines.find((m) => m.exposureLevel !== 'High')!;
  changed.exposureLevel = 'High';
  // The patched one is on the device with the most critical and high CVEs, so it stays in the top 10.
  const serious = records.filter((r) => ['Critical', 'High'].includes(r.vulnerabilitySeverityLevel ?? ''));
  const perDevice = (name: string) => serious.filter((r) => r.deviceName === name).length;
  const patched = serious.reduce((best, r) => (perDevice(r.deviceName) > perDevice(best.deviceName) ? r : best));
  devices.fixVulnerability(patched.id);
  patchedDevice = { name: patched.deviceName, before: new Set(serious.filter((r) => r.deviceName === patched.deviceName).map((r) => r.cveId)).size };
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the next poll starts in a later second
  events.push(...(await poll('defender_endpoint_machines')), ...(await poll('defender_endpoint_vulnerabilities')));

  const act = async (dests: string[]) => {
    const file = writeResultsFile(s.workDir, dests.map((dest) => ({ dest })));
    const payload = actionPayload(s, 'defender_device_action', { account: 'prod', action: 'isolate', comment: 'Contained from the SOC overview preview', requests_per_minute: '100', wait_seconds: '5' }, file);
    return runActionProcess('defender_device_action', payload, { env: { SPLUNK_HOME: home } });
  };
  const isolated = machines.slice(0, 3).map((m) => m.computerDnsName);
  await act([...isolated, 'nosuch.contoso.com']);
  await act([isolated[0]!]);

  const count = (values: string[]) => values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});
  const vulnerable = new Map<string, { critical: number; high: number }>();
  const cves = new Map<string, { critical: Set<string>; high: Set<string> }>();
  for (const v of devices.vulnerabilities.values()) {
    const level = (v.vulnerabilitySeverityLevel ?? '').toLowerCase();
    if (level !== 'critical' && level !== 'high') continue;
    const entry = cves.get(v.deviceName) ?? { critical: new Set<string>(), high: new Set<string>() };
    entry[level].add(v.cveId!);
    cves.set(v.deviceName, entry);
  }
  for (const [name, e] of cves) vulnerable.set(name, { critical: e.critical.size, high: e.high.size });
  const all = [...devices.machines.values()];
  truth = {
    exposure: count(all.map((m) => m.exposureLevel)),
    risk: count(all.map((m) => m.riskScore)),
    vulnerable,
    actions: [...isolated.map((device) => ({ device, outcome: 'succeeded' })), { device: 'nosuch.contoso.com', outcome: 'not_found' }, { device: isolated[0]!, outcome: 'already_done' }],
  };
  return events;
}

/** The definition with each search replaced by its results over the collected data. */
function withStaticData(definition: Definition, spanS: number): Definition {
  const macros = confOf('macros.conf');
  const copy = structuredClone(definition);
  for (const [id, ds] of Object.entries(definition.dataSources)) {
    const results = runSpl(effectiveQuery(definition, id, macros).text, rows, { nowS, tokens: {}, spanS });
    copy.dataSources[id] = { type: 'ds.test', name: ds.name, options: { data: toColumns(results) } };
  }
  return copy;
}

const views = loadViews();
/** Validation results by view; the preset's schema is large, so it is compiled once for all views. */
const validations = new Map<string, unknown>();

test('every definition is valid for the full Enterprise preset (Splunk\'s validator, in the browser)', async () => {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(`file://${path.join(PAGE_DIR, 'index.html')}`);
  // An error while the bundle loads leaves validateDashboard undefined: say which.
  assert.deepEqual(pageErrors, [], 'the preview page loads without errors');
  const broken = structuredClone(views[0].definition);
  broken.visualizations[Object.keys(broken.visualizations)[0]].options = { ...broken.visualizations[Object.keys(broken.visualizations)[0]].options, backgroundColor: 42 };
  const results = await page.evaluate(
    (definitions) => definitions.map((d) => (window as unknown as { validateDashboard: (d: unknown) => unknown }).validateDashboard(d)),
    [...views.map((v) => v.definition), broken],
  );
  views.forEach((v, i) => validations.set(v.name, results[i]));
  for (const view of views) assert.deepEqual(validations.get(view.name), { schemaError: null, errors: null }, view.name);
  assert.ok((results.at(-1) as { errors: unknown[] | null }).errors?.length, 'a wrong option type fails (negative control)');
  await page.close();
});

for (const view of views) {
  test(`${view.name}: valid for the Enterprise preset, renders every panel with data (test/artifacts/${view.name}.png)`, async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The page is static: splunkd/splunkweb calls (time-range presets, capabilities) have no server.
    await page.route(/^(?!file:)/, (route) => route.abort());
    await page.goto(`file://${path.join(PAGE_DIR, 'index.html')}`);

    assert.deepEqual(validations.get(view.name), { schemaError: null, errors: null });

    const definition = withStaticData(view.definition, view.name === 'defender_xdr_overview' ? 86_400 : 60);
    for (const [id, ds] of Object.entries(definition.dataSources)) {
      const columns = (ds.options as { data: { columns: unknown[][] } }).data.columns;
      assert.ok(columns.length > 0 && columns[0].length > 0, `${id} (${ds.name}) has no results over the preview data`);
    }
    writeFileSync(path.join(ARTIFACTS, `${view.name}.preview.json`), JSON.stringify(definition, null, 2));
    await page.evaluate((d) => (window as unknown as { renderDashboard: (d: unknown) => void }).renderDashboard(d), definition);
    for (const viz of Object.values(definition.visualizations)) {
      if (viz.title) await page.getByText(viz.title, { exact: true }).first().waitFor({ timeout: 15_000 }).catch(async (e: unknown) => { await page.screenshot({ path: path.join(ARTIFACTS, "debug.png"), fullPage: true }); writeFileSync(path.join(ARTIFACTS, "debug.txt"), await page.locator("body").innerText()); throw e; });
    }
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1500); // chart animations
    const text = await page.locator('#root').innerText();
    assert.doesNotMatch(text, /No search results|Error in|Invalid/i);
    const file = path.join(ARTIFACTS, `${view.name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(statSync(file).size > 50_000, 'the screenshot has content');
    assert.deepEqual(pageErrors, []);
    await page.close();
  });
}

describe('the overview\'s devices row, over what the built inputs and action produced', () => {
  const overview = views.find((v) => v.name === 'defender_xdr_overview')!.definition;
  const run = (id: string) => runSpl(effectiveQuery(overview, id, confOf('macros.conf')).text, rows, { nowS, tokens: {} });
  const byField = (results: Row[], field: string) => Object.fromEntries(results.map((r) => [String(r[field]), Number(r.devices)]));

  test('exposure and risk: each device once, in its latest poll', () => {
    const exposure = byField(run('ds_device_exposure'), 'exposureLevel');
    assert.deepEqual(exposure, truth.exposure, 'two polls of 24 devices, one device raised to High in the second');
    assert.equal(Object.values(exposure).reduce((a, b) => a + b, 0), 24);
    assert.deepEqual(byField(run('ds_device_risk'), 'riskScore'), truth.risk);
  });

  test('top vulnerable devices: distinct critical and high CVEs still present, the patched one gone', () => {
    const results = run('ds_top_vulnerable');
    const expected = [...truth.vulnerable].map(([dest, c]) => ({ dest, ...c })).sort((a, b) => b.critical + b.high - (a.critical + a.high) || b.critical - a.critical);
    assert.ok(results.length > 0 && results.length <= 10);
    const totals = results.map((r) => Number(r.critical) + Number(r.high));
    assert.deepEqual(totals, expected.slice(0, results.length).map((e) => e.critical + e.high), 'ordered by critical plus high');
    for (const r of results) assert.deepEqual({ critical: Number(r.critical), high: Number(r.high) }, truth.vulnerable.get(String(r.dest)), String(r.dest));
    const patched = results.find((r) => r.dest === patchedDevice.name);
    assert.ok(patched, `${patchedDevice.name} had the most critical and high CVEs`);
    assert.equal(Number(patched.critical) + Number(patched.high), patchedDevice.before - 1, 'the Fixed change took one off');
  });

  test('response actions: one row per device and run, with its outcome, newest first', () => {
    const results = run('ds_device_actions');
    const got = results.map((r) => ({ device: String(r.device), outcome: String(r.outcome) }));
    assert.deepEqual([...got].reverse().sort((a, b) => a.outcome.localeCompare(b.outcome) || a.device.localeCompare(b.device)), [...truth.actions].sort((a, b) => a.outcome.localeCompare(b.outcome) || a.device.localeCompare(b.device)));
    assert.deepEqual(got[0], { device: truth.actions.at(-1)!.device, outcome: 'already_done' }, 'the repeat ran last');
    assert.ok(results.every((r) => r.device_action === 'isolate'));
    assert.ok(results.filter((r) => r.outcome === 'succeeded').every((r) => r.machine_action_status === 'Succeeded' && /^[0-9a-f-]{36}$/.test(String(r.machine_action_id))));
  });

  test('real action log lines carry every field of the committed action log sample', () => {
    const real = new Set(rows.filter((r) => r.action === 'defender_device_action').flatMap((r) => Object.keys(r)));
    for (const field of logSampleFields(loadApp(ROOT), ACTION_LOG_SAMPLE_FILE)) if (field !== '_raw') assert.ok(real.has(field), `${ACTION_LOG_SAMPLE_FILE} has ${field}, which real lines do not`);
  });
});
