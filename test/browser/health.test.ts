/**
 * Health on the configuration page, in a real browser: the built inputs run against the Graph
 * simulator with a SPLUNK_HOME, so they write ta_defender_xdr.log as in production; the search-head
 * stand-in indexes that file into _internal (the shipped props give it its sourcetype and fields)
 * and evaluates the page's own search over it. Statuses come from real runs (OK, Failing, Throttled)
 * or from lines written by the add-on's own log writer (Behind: a large checkpoint lag), from a
 * stanza with no line (Never ran) and from a disabled stanza (Disabled).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { formatLine } from '../../src/splunk/log.js';
import { ADDON_LOG_NAME, LogFile } from '../../src/splunk/logFile.js';
import { APP, APP_DIR, provisionAccount, registerAppSchemes, runConfigXml, runInputProcess, SECRET_CANARY, startStandIns, type StandIns } from '../../tools/harness.js';
import { ADMIN_INDEXES, SearchHeadStandIn } from '../../tools/simulator/search.js';
import { SplunkWebStandIn } from '../../tools/simulator/splunkweb.js';
import { launchBrowser, screenshot, type Browser } from '../helpers/browser.js';

const WRONG_SECRET = `${SECRET_CANARY}wrong-health-secret`;

let s: StandIns;
let web: SplunkWebStandIn;
let searchHead: SearchHeadStandIn;
let browser: Browser;
let page: Page;
let home: string;
const sent: string[] = [];
const pageErrors: string[] = [];

/** Runs the built input once, as splunkd would, with the add-on log under SPLUNK_HOME. */
async function run(scheme: string, name: string, account: string): Promise<void> {
  const checkpoints = mkdtempSync(path.join(s.workDir, 'cp-'));
  await runInputProcess(scheme, [], runConfigXml(s, scheme, name, { account, interval: '300', index: 'main' }, checkpoints), { env: { SPLUNK_HOME: home } });
}

function stanza(scheme: string, name: string, values: Record<string, string>): void {
  s.splunkd.setConfStanza(APP, 'inputs', `${scheme}://${name}`, { interval: '300', index: 'main', disabled: '0', ...values });
}

function row(scheme: string, name: string) {
  return page.locator(`section[data-scheme="${scheme}"] [data-input="${name}"]`);
}

/** The row's health status (the data-health attribute) once it is one of the final ones. */
async function healthOf(scheme: string, name: string): Promise<string> {
  // While the first search runs the placeholder says so (aria-busy); a slow search head must not read as a status.
  const cell = row(scheme, name).locator('[data-health]:not([aria-busy="true"])');
  await cell.waitFor();
  return (await cell.getAttribute('data-health')) ?? '';
}

async function openInputs(): Promise<void> {
  await page.goto(`${web.baseUrl}/en-US/app/${APP}/configuration`);
  await page.getByRole('tab', { name: 'Inputs' }).click();
  await row('defender_xdr_alerts', 'healthy').waitFor();
}

before(async () => {
  s = await startStandIns();
  await registerAppSchemes(s.splunkd);
  home = mkdtempSync(path.join(s.workDir, 'splunk-home-'));
  const logDir = path.join(home, 'var', 'log', 'splunk');
  mkdirSync(logDir, { recursive: true });
  searchHead = new SearchHeadStandIn(APP_DIR);
  searchHead.monitor(path.join(logDir, ADDON_LOG_NAME));
  s.splunkd.search = searchHead;

  provisionAccount(s, 'prod');
  provisionAccount(s, 'wrong', {}, WRONG_SECRET);
  s.graph.addAlerts(20, { at: new Date(Date.now() - 60_000), spreadMs: 3600_000 });
  s.graph.addIncidents(5, { alertsPerIncident: 2, at: new Date(Date.now() - 60_000), spreadMs: 3600_000 });
  stanza('defender_xdr_alerts', 'healthy', { account: 'prod' });
  stanza('defender_xdr_alerts', 'badsecret', { account: 'wrong' });
  stanza('defender_xdr_alerts', 'fresh', { account: 'prod' });
  stanza('defender_xdr_incidents', 'throttled', { account: 'prod' });
  stanza('defender_xdr_incidents', 'paused', { account: 'prod', disabled: '1' });
  stanza('defender_endpoint_alerts', 'lagging', { account: 'prod' });

  // Microsoft throttles the incidents list twice: the poll waits, retries and succeeds.
  s.graph.faults.push({ match: /security\/incidents/, fault: { kind: 'status', status: 429, retryAfter: '0' }, times: 2 });
  await Promise.all([run('defender_xdr_alerts', 'healthy', 'prod'), run('defender_xdr_alerts', 'badsecret', 'wrong'), run('defender_xdr_incidents', 'throttled', 'prod')]);
  // Two hours behind: written by the add-on's own writer, in the summary's own words.
  new LogFile(path.join(logDir, ADDON_LOG_NAME)).write(
    formatLine('INFO', 'Poll finished', {
      input: 'defender_endpoint_alerts://lagging', scheme: 'defender_endpoint_alerts', interval: '300', account: 'prod', tenant: s.tenantId,
      outcome: 'success', emitted: 12, pages: 1, high_water_mark: new Date(Date.now() - 7200_000).toISOString(), checkpoint_lag_s: 7200,
      requests: 2, retries: 0, throttled: 0, waited_ms: 0, token_failures: 0, token_rejected: 0, duration_ms: 800,
    }),
  );

  web = new SplunkWebStandIn({ splunkd: s.splunkd, sessionKey: s.sessionKey, apps: { [APP]: APP_DIR } });
  await web.start();
  browser = await launchBrowser();
  page = browser.page;
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('request', (request) => sent.push(`${request.url()}\n${request.postData() ?? ''}`));
  await page.clock.install();
  await page.goto(`${web.baseUrl}/en-US/app/${APP}/configuration`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('changeme');
  await page.getByRole('button', { name: 'Sign In' }).click();
  await page.getByRole('heading', { name: 'Accounts', level: 2 }).waitFor();
});

after(async () => {
  await browser?.close();
  await web?.stop();
  await s?.stop();
});

test('each status appears for the stanza whose log lines say so, with its reason and a dashboard link', async () => {
  await openInputs();
  const expected: [string, string, string][] = [
    ['defender_xdr_alerts', 'healthy', 'ok'],
    ['defender_xdr_alerts', 'badsecret', 'failing'],
    ['defender_xdr_alerts', 'fresh', 'never'],
    ['defender_xdr_incidents', 'throttled', 'throttled'],
    ['defender_xdr_incidents', 'paused', 'disabled'],
    ['defender_endpoint_alerts', 'lagging', 'behind'],
  ];
  for (const [scheme, name, status] of expected) assert.equal(await healthOf(scheme, name), status, `${scheme}://${name}`);

  // Text, not colour alone: the badge says the status in words. 30 events: 20 alerts and the 10 of the 5 incidents.
  const text = async (scheme: string, name: string) => (await row(scheme, name).locator('[data-health-cell]').innerText()).replace(/\s+/g, ' ');
  assert.match(await text('defender_xdr_alerts', 'healthy'), /^OK Collecting\. Last run \d+ s ago: success · 30 events in 24 h · checkpoint lag \d+ s/);
  const failing = await text('defender_xdr_alerts', 'badsecret');
  assert.match(failing, /^Failing The last poll failed; no success in 24 h\. Error: Poll failed: .*secret/i);
  assert.match(failing, /What to do: Fix the account on the Accounts tab/);
  assert.match(await text('defender_xdr_alerts', 'fresh'), /^Never ran No poll in the last 24 hours\./);
  assert.match(await text('defender_xdr_incidents', 'throttled'), /^Throttled Microsoft answered 429 \(throttled\) 2 times in the last poll/);
  assert.match(await text('defender_xdr_incidents', 'paused'), /^Disabled Disabled: not collecting/);
  assert.match(await text('defender_endpoint_alerts', 'lagging'), /^Behind Checkpoint 2 h behind Microsoft's newest change \(threshold 15 min\)/);

  // The link opens the health dashboard with its `input` token set to this stanza, last 24 hours.
  const link = row('defender_xdr_alerts', 'badsecret').getByRole('link', { name: 'Open the health dashboard for input badsecret' });
  const href = new URL((await link.getAttribute('href')) ?? '', web.baseUrl);
  assert.equal(href.pathname, `/en-US/app/${APP}/defender_xdr_health`);
  assert.equal(href.searchParams.get('form.input'), 'defender_xdr_alerts://badsecret');
  assert.equal(href.searchParams.get('form.global_time.earliest'), '-24h');
  // Keyboard: the link is in the tab order, just before the row's Edit button.
  await row('defender_xdr_alerts', 'badsecret').getByRole('button', { name: 'Edit input badsecret' }).focus();
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Open the health dashboard for input badsecret');

  // One search for all rows: the page's query, over the last 24 hours, through the session and form key.
  const searches = s.splunkd.requests.filter((r) => r.path.endsWith('/search/jobs'));
  assert.ok(searches.length >= 1);
  for (const r of searches) {
    assert.equal(r.form.get('exec_mode'), 'oneshot');
    assert.equal(r.form.get('earliest_time'), '-24h');
    assert.match(r.form.get('search') ?? '', /^search `defender_xdr_log` .*\| stats .* by input$/);
  }
  assert.equal(web.csrfRefusals, 0);
  await screenshot(page, 'health-inputs-mixed');
});

test('accounts show the last token or the Entra error', async () => {
  await page.getByRole('tab', { name: 'Accounts' }).click();
  const cell = (name: string) => page.locator(`[data-account="${name}"] [data-health-cell]`);
  await cell('prod').locator('[data-health="ok"]').waitFor();
  assert.match((await cell('prod').innerText()).replace(/\s+/g, ' '), /^OK Token obtained \d+ s ago\. Health dashboard$/);
  await cell('wrong').locator('[data-health="failing"]').waitFor();
  const wrong = (await cell('wrong').innerText()).replace(/\s+/g, ' ');
  assert.match(wrong, /Entra ID refused a token .* ago; no token in 24 h\. Error: Poll failed: .*secret/i);
  await screenshot(page, 'health-accounts');
});

test('it updates while the page is open: a fixed account turns Failing into OK at the next refresh', async () => {
  await openInputs();
  assert.equal(await healthOf('defender_xdr_alerts', 'badsecret'), 'failing');
  provisionAccount(s, 'wrong');
  await run('defender_xdr_alerts', 'badsecret', 'wrong');
  await page.clock.fastForward(61_000);
  await row('defender_xdr_alerts', 'badsecret').locator('[data-health="ok"]').waitFor();
});

test('a search that fails or times out leaves the rest of the page usable', async () => {
  await openInputs();
  s.splunkd.failNext = { match: /search\/jobs/, status: 500, times: 1 };
  await page.clock.fastForward(61_000);
  const notice = page.locator('[data-health-notice="failed"]');
  await notice.waitFor();
  assert.match(await notice.innerText(), /Health could not be read: Injected failure \(HTTP 500\)\. Showing health as of .* ago\. Everything else on this page works/);
  // The last health read stays; the page error area stays empty; the page still works.
  assert.equal(await healthOf('defender_xdr_alerts', 'healthy'), 'ok');
  assert.equal((await page.getByTestId('page-error').innerText()).trim(), '');
  await page.getByRole('button', { name: 'Add Microsoft Defender XDR alerts input' }).click();
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });

  // A search head that never answers: the page gives up after 30 s and says so.
  searchHead.stallNext = 1;
  await page.clock.fastForward(61_000);
  await page.waitForFunction(() => true);
  await page.clock.fastForward(31_000);
  await page.getByText(/did not answer within 30 s/).waitFor();
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByRole('tab', { name: 'Inputs' }).click();
  await row('defender_xdr_alerts', 'healthy').waitFor();
  // And it recovers at the next refresh.
  await page.clock.fastForward(61_000);
  await page.locator('[data-health-notice]').waitFor({ state: 'detached' });
});

test('a role without _internal sees "health not available to your role", not an error', async () => {
  searchHead.searchIndexesAllowed = ['*']; // Splunk's `user` role: every index but the internal ones
  try {
    await openInputs();
    const notice = page.locator('[data-health-notice="no-access"]');
    await notice.waitFor();
    assert.match(await notice.innerText(), /Health not available to your role/);
    assert.equal(await row('defender_xdr_alerts', 'healthy').locator('[data-health="unavailable"]').innerText(), 'Not available to your role');
    assert.equal(await healthOf('defender_xdr_incidents', 'paused'), 'disabled', 'a disabled input still says so');
    assert.equal((await page.getByTestId('page-error').innerText()).trim(), '');
    await screenshot(page, 'health-no-access');
  } finally {
    searchHead.searchIndexesAllowed = [...ADMIN_INDEXES];
  }
});

test('no secret in the page, its requests or the answers it got', async () => {
  const html = await page.content();
  const answers = web.responses.map((r) => r.body);
  for (const [where, texts] of [['page', [html]], ['requests', sent], ['answers', answers]] as const) {
    for (const t of texts) {
      assert.ok(!t.includes(s.clientSecret), `client secret in ${where}`);
      assert.ok(!t.includes(WRONG_SECRET), `wrong secret in ${where}`);
      assert.ok(!t.includes(SECRET_CANARY), `a canary in ${where}`);
    }
  }
  assert.ok(answers.some((b) => b.includes('"last_outcome"')), 'the health answers were inspected');
  assert.deepEqual(pageErrors, []);
});
