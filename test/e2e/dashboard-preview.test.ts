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
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import type { BrowserContext } from 'playwright-core';
import { ADDON_LOG_NAME } from '../../src/splunk/logFile.js';
import { parseStream, provisionAccount, ROOT, runConfigXml, runInputProcess, startStandIns, type StandIns } from '../../tools/harness.js';
import { launchChromium } from '../helpers/chromium.js';
import { confOf, effectiveQuery, loadViews, type Definition } from '../helpers/dashboards.js';
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

  const app = loadApp(ROOT);
  const toRow = (fields: Map<string, string[]>, time: number): Row => {
    const row: Row = { _time: time };
    for (const [k, v] of fields) if (k !== '_raw') row[k] = v.length === 1 ? v[0] : v;
    return row;
  };
  const data = events.map((e) => toRow(evaluate(app, { sourcetype: e.sourcetype, raw: e.data }).fields, e.time));
  const logFile = path.join(home, 'var', 'log', 'splunk', ADDON_LOG_NAME);
  for (const line of readFileSync(logFile, 'utf8').trimEnd().split('\n')) {
    const time = Date.parse(line.slice(0, 23).replace(' ', 'T') + 'Z') / 1000;
    data.push(toRow(evaluate(app, { sourcetype: 'ta:defender:xdr:log', source: logFile, raw: line }).fields, time));
  }
  // A search returns events newest first.
  return data.sort((a, b) => Number(b._time) - Number(a._time));
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
