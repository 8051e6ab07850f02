/**
 * The configuration page in a real browser (headless Chromium through playwright-core, chosen by test/helpers/chromium.ts), served
 * by the Splunk Web stand-in in front of the splunkd stand-in, with the built app's schemes
 * registered (their --validate-arguments runs on every create and edit, as splunkd does) and the
 * Graph simulator answering the connection test. One browser for all scenarios; they run in order
 * and build on each other (account → inputs → refusal to delete → settings).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import * as rules from '../../src/config/rules.js';
import { connectionTestDefinition } from '../../src/connection/definition.js';
import { INPUTS } from '../../src/inputs/catalog.js';
import { APP, APP_DIR, registerAppSchemes, SECRET_CANARY, startStandIns, type StandIns } from '../../tools/harness.js';
import { SplunkWebStandIn } from '../../tools/simulator/splunkweb.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';
import { launchBrowser, screenshot, type Browser } from '../helpers/browser.js';

let s: StandIns;
let web: SplunkWebStandIn;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Reads splunkd directly (the test's view, not the page's). */
async function splunkd(path: string): Promise<{ status: number; entries: { name: string; content: Record<string, unknown> }[] }> {
  const response = await fetch(`${s.splunkd.serverUri}/servicesNS/nobody/${APP}/${path}${path.includes('?') ? '&' : '?'}output_mode=json&count=0`, {
    headers: { authorization: `Splunk ${s.sessionKey}` },
  });
  const body = (await response.json()) as { entry?: { name: string; content: Record<string, unknown> }[] };
  return { status: response.status, entries: body.entry ?? [] };
}

async function stanza(conf: string, name: string): Promise<Record<string, unknown> | undefined> {
  return (await splunkd(`configs/conf-${conf}`)).entries.find((e) => e.name === name)?.content;
}

async function storedSecret(user: string): Promise<string | undefined> {
  const found = (await splunkd('storage/passwords')).entries.find((e) => e.content.realm === APP && e.content.username === user);
  return found?.content.clear_password as string | undefined;
}

/**
 * The stanza's `disabled` as splunkd holds it reaches `expected` (within 5 s): the page may show the
 * new state from the answer to its own request a moment before the stand-in's next read sees it.
 */
async function disabledBecomes(scheme: string, name: string, expected: boolean): Promise<void> {
  let last: unknown;
  for (const started = Date.now(); Date.now() - started < 5000; await new Promise((resolve) => setTimeout(resolve, 100))) {
    last = (await input(scheme, name))?.disabled;
    if (last === expected) return;
  }
  assert.equal(last, expected, `${scheme}://${name} disabled`);
}

async function input(scheme: string, name: string): Promise<Record<string, unknown> | undefined> {
  return (await splunkd(`data/inputs/${scheme}`)).entries.find((e) => e.name === name)?.content;
}

function dialog() {
  return page.getByRole('dialog');
}

async function fill(label: string, value: string): Promise<void> {
  await field(dialog(), label).fill(value);
}

/** A text field by its accessible name (the label; the required asterisk is aria-hidden). */
function field(scope: ReturnType<Page['locator']>, label: string) {
  return scope.getByRole('textbox', { name: label, exact: true });
}

/** A react-ui Select: open it, then pick the option. */
async function choose(scope: ReturnType<Page['locator']>, label: string, option: string): Promise<void> {
  await scope.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function save(): Promise<void> {
  await dialog().getByRole('button', { name: 'Save' }).click();
}

/** Answers the confirmation dialog of a delete. */
async function confirmDelete(): Promise<void> {
  await dialog().getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog().waitFor({ state: 'detached' });
}

async function status(): Promise<string> {
  return (await page.getByTestId('status').textContent()) ?? '';
}

async function tab(name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
}

before(async () => {
  s = await startStandIns();
  await registerAppSchemes(s.splunkd);
  web = new SplunkWebStandIn({ splunkd: s.splunkd, sessionKey: s.sessionKey, apps: { [APP]: APP_DIR } });
  await web.start();
  browser = await launchBrowser();
  page = browser.page;
  // Generous: creating an input runs the launcher's --validate-arguments, slow on a busy machine.
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

after(async () => {
  await browser?.close();
  await web?.stop();
  await s?.stop();
});

test('the app view needs a Splunk Web session: login, then the page loads with its tabs', async () => {
  await page.goto(`${web.baseUrl}/en-US/app/${APP}/configuration`);
  assert.match(page.url(), /\/en-US\/account\/login\?return_to=/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('changeme');
  await page.getByRole('button', { name: 'Sign In' }).click();
  await page.getByRole('heading', { name: 'Accounts', level: 2 }).waitFor();
  assert.match(page.url(), new RegExp(`/en-US/app/${APP}/configuration$`));
  for (const name of ['Accounts', 'Inputs', 'Settings']) assert.equal(await page.getByRole('tab', { name }).count(), 1);
  await screenshot(page, '01-accounts-empty');
});

test('splunkd calls without the form key are refused, as Splunk Web does', async () => {
  const result = await page.evaluate(async (app) => {
    const r = await fetch(`/en-US/splunkd/__raw/servicesNS/nobody/${app}/configs/conf-defender_xdr_settings/logging?output_mode=json`, { method: 'POST', body: 'loglevel=DEBUG', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    return { status: r.status, text: await r.text() };
  }, APP);
  assert.equal(result.status, 401);
  assert.match(result.text, /CSRF validation failed/);
  assert.equal((await stanza('defender_xdr_settings', 'logging'))?.loglevel, 'INFO');
  web.csrfRefusals = 0;
});

test('account form: errors next to each field, with the same words as --validate-arguments', async () => {
  await page.getByRole('button', { name: 'Add account' }).click();
  await fill('Account name', 'bad name!');
  await fill('Tenant ID', 'not a tenant');
  await fill('Client ID', '1234');
  await save();
  const errorOf = (name: string) => dialog().locator(`[data-error-for="${name}"]`);
  assert.equal(await errorOf('name').textContent(), rules.accountName('bad name!'));
  assert.equal(await errorOf('tenant_id').textContent(), rules.tenant('not a tenant'));
  assert.equal(await errorOf('client_id').textContent(), rules.guid('1234'));
  assert.equal(await errorOf('secret').textContent(), 'Required.');
  // The error is tied to its field for assistive technology.
  const clientId = field(dialog(), 'Client ID');
  const describedBy = (await clientId.getAttribute('aria-describedby')) ?? '';
  assert.ok(describedBy.split(' ').some(Boolean));
  assert.match((await page.locator(`[id="${describedBy.split(' ')[0]}"]`).textContent()) ?? '', /is not a GUID/);
  assert.match((await dialog().getByTestId('form-summary').textContent()) ?? '', /4 fields need attention/);
  // Focus moves to the first field in error, so a keyboard user lands on it.
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'name');
  await choose(dialog(), 'Cloud', 'Custom endpoints');
  await fill('Login URL', 'http://login.example.com');
  await save();
  assert.equal(await errorOf('login_url').textContent(), rules.httpsUrl('http://login.example.com'));
  assert.equal(await errorOf('graph_url').textContent(), 'Required.');
  await screenshot(page, '02-account-validation');
  await page.keyboard.press('Escape');
  await dialog().waitFor({ state: 'detached' });
  assert.equal((await splunkd('configs/conf-defender_xdr_account')).entries.length, 0, 'nothing saved');
});

test('add an account (keyboard only): stanza saved, secret only in storage/passwords', async () => {
  // Keyboard: focus the button and press Enter; the dialog traps focus and Escape closes it.
  await page.getByRole('button', { name: 'Add account' }).focus();
  await page.keyboard.press('Enter');
  await dialog().waitFor();
  await fill('Account name', 'contoso');
  await fill('Tenant ID', s.tenantId);
  await fill('Client ID', s.clientId);
  await choose(dialog(), 'Cloud', 'Custom endpoints');
  await fill('Login URL', s.graph.baseUrl);
  await fill('Microsoft Graph URL', s.graph.baseUrl);
  await fill('Defender for Endpoint URL', s.graph.baseUrl);
  await fill('Client secret', s.clientSecret);
  await fill('Extra CA bundle', s.caFile);
  await field(dialog(), 'Extra CA bundle').press('Enter');
  await dialog().waitFor({ state: 'detached' });
  assert.match(await status(), /Account "contoso" saved/);
  const saved = await stanza('defender_xdr_account', 'contoso');
  assert.equal(saved?.tenant_id, s.tenantId);
  assert.equal(saved?.client_id, s.clientId);
  assert.equal(saved?.cloud, 'custom');
  assert.equal(saved?.auth_type, 'client_secret');
  assert.equal(saved?.graph_url, s.graph.baseUrl);
  assert.equal(saved?.mde_url, s.graph.baseUrl);
  assert.ok(!Object.values(saved ?? {}).includes(s.clientSecret), 'the secret is not in the conf stanza');
  assert.equal(await storedSecret('contoso'), s.clientSecret);
  assert.equal((await stanza('app', 'install'))?.is_configured, '1', 'the setup page is done');
  await page.locator('[data-account="contoso"]').waitFor();
  // Saving tests the connection at once.
  await page.locator('[data-report-for="contoso"] [data-outcome="ok"]').waitFor({ timeout: 30_000 });
  await screenshot(page, '03-accounts-list');
});

test('a secret write that fails leaves a saved account the form can finish: saving again stores the secret', async () => {
  s.splunkd.failNext = { match: /^POST .*\/storage\/passwords/, status: 500, times: 1 };
  await page.getByRole('button', { name: 'Add account' }).click();
  await fill('Account name', 'northwind');
  await fill('Tenant ID', s.tenantId);
  await fill('Client ID', s.clientId);
  await fill('Client secret', s.clientSecret);
  await save();
  const failure = dialog().getByTestId('form-error');
  await failure.waitFor();
  assert.match((await failure.textContent()) ?? '', /^Not saved: the secret \(Injected failure \(HTTP 500\)\); the account itself is saved\. Save again/);
  assert.ok(await stanza('defender_xdr_account', 'northwind'));
  assert.equal(await storedSecret('northwind'), undefined);
  await screenshot(page, '04b-account-secret-not-saved');
  await save();
  await dialog().waitFor({ state: 'detached' });
  assert.equal(await storedSecret('northwind'), s.clientSecret);
  await page.getByRole('button', { name: 'Delete account northwind' }).click();
  await confirmDelete();
  await page.getByTestId('status').getByText('Account "northwind" and its secret were deleted.').waitFor();
  assert.equal(await stanza('defender_xdr_account', 'northwind'), undefined);
});

test('the secret is never sent back: not in any response, not in the DOM, not in the edit form', async () => {
  await page.getByRole('button', { name: 'Edit account contoso' }).click();
  await dialog().waitFor();
  const secretField = field(dialog(), 'Client secret');
  assert.equal(await secretField.inputValue(), '');
  assert.match((await secretField.getAttribute('placeholder')) ?? '', /Stored/);
  assert.equal(await field(dialog(), 'Tenant ID').inputValue(), s.tenantId);
  await screenshot(page, '04-account-edit');
  assert.ok(!(await page.content()).includes(s.clientSecret), 'not in the DOM');
  const leaks = web.responses.filter((r) => r.body.includes(s.clientSecret) || r.body.includes(SECRET_CANARY));
  assert.deepEqual(leaks.map((r) => `${r.method} ${r.path}`), [], 'no response to the browser holds the secret');
  assert.ok(!web.responses.some((r) => /storage\/passwords/.test(r.path) && r.method === 'GET'), 'the page never lists storage/passwords');
  await page.keyboard.press('Escape');
  await dialog().waitFor({ state: 'detached' });
});

test('test connection: success lists the token and every API probe', async () => {
  await page.getByRole('button', { name: 'Test connection of account contoso' }).click();
  const report = page.locator('[data-report-for="contoso"]');
  await report.locator('[data-outcome]').waitFor({ timeout: 30_000 });
  assert.equal(await report.locator('[data-outcome]').getAttribute('data-outcome'), 'ok');
  const probes = new Set(INPUTS.flatMap((d) => (d.probe ? [d.probe.permission] : [])));
  assert.equal(await report.locator('li[data-ok="true"]').count(), 1 + probes.size);
  for (const permission of probes) assert.match((await report.textContent()) ?? '', new RegExp(permission.replace(/\./g, '\\.')));
  assert.equal((await splunkd(`data/inputs/${connectionTestDefinition.scheme}`)).entries.length, 0, 'the test leaves no stanza');
  // The response actions' write permissions, read from the token: the stand-in's app has none of them.
  const permissions = report.locator('[data-permissions-readable="true"]');
  assert.equal(await permissions.count(), 1);
  assert.match((await permissions.locator('li[data-granted="false"]').allTextContents()).join('\n'), /Missing: defender_device_action action=isolate, release \(Machine\.Isolate\)/);
  assert.equal(await permissions.locator('li[data-granted="true"]').count(), 1, 'Machine.Read.All is granted');
  await screenshot(page, '05-test-connection-ok');
});

test('test connection: a missing API permission is named', async () => {
  s.graph.revokeRole(s.clientId, 'SecurityIncident.Read.All');
  try {
    await page.getByRole('button', { name: 'Test connection of account contoso' }).click();
    const report = page.locator('[data-report-for="contoso"]');
    await report.locator('[data-outcome="failed"]').waitFor({ timeout: 30_000 });
    const failed = report.locator('li[data-ok="false"]');
    assert.equal(await failed.count(), 1);
    assert.match((await failed.textContent()) ?? '', /SecurityIncident\.Read\.All[\s\S]*403[\s\S]*Grant the application permission SecurityIncident\.Read\.All/);
    const apis = new Set(INPUTS.flatMap((d) => (d.probe ? [d.probe.path] : []))).size;
    assert.equal(await report.locator('li[data-ok="true"]').count(), 1 + apis - 1, 'the token and every other API still work');
    await screenshot(page, '06-test-connection-permission');
  } finally {
    s.graph.grantRole(s.clientId, 'SecurityIncident.Read.All');
  }
});

test('edit the account with a wrong secret: storage/passwords rewritten, the test says the secret is wrong', async () => {
  const wrong = `${SECRET_CANARY}wrong-secret-value`;
  await page.getByRole('button', { name: 'Edit account contoso' }).click();
  await fill('Client secret', wrong);
  await save();
  await dialog().waitFor({ state: 'detached' });
  assert.equal(await storedSecret('contoso'), wrong);
  await page.getByRole('button', { name: 'Test connection of account contoso' }).click();
  const report = page.locator('[data-report-for="contoso"]');
  await report.locator('[data-outcome="failed"]').waitFor({ timeout: 30_000 });
  assert.match((await report.locator('li[data-ok="false"]').textContent()) ?? '', /client secret is wrong \(AADSTS7000215\)/);
  await screenshot(page, '07-test-connection-wrong-secret');
  assert.ok(!(await page.content()).includes(wrong));
  assert.ok(!web.responses.some((r) => r.body.includes(wrong)), 'the new secret is not sent back either');
  // Back to the right secret for the inputs' validation below.
  await page.getByRole('button', { name: 'Edit account contoso' }).click();
  await fill('Client secret', s.clientSecret);
  await fill('Client ID', s.clientId);
  await save();
  await dialog().waitFor({ state: 'detached' });
  assert.equal(await storedSecret('contoso'), s.clientSecret);
});

test('test connection: a tenant this cloud does not know says to check the tenant and the cloud', async () => {
  await page.getByRole('button', { name: 'Edit account contoso' }).click();
  await fill('Tenant ID', randomUUID());
  await save();
  await dialog().waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Test connection of account contoso' }).click();
  const report = page.locator('[data-report-for="contoso"]');
  await report.locator('[data-outcome="failed"]').waitFor({ timeout: 30_000 });
  assert.match((await report.locator('li[data-ok="false"]').textContent()) ?? '', /tenant [0-9a-f-]+ [\s\S]*Check tenant_id, the account's cloud/);
  await screenshot(page, '07b-test-connection-wrong-tenant-or-cloud');
  await page.getByRole('button', { name: 'Edit account contoso' }).click();
  await fill('Tenant ID', s.tenantId);
  await save();
  await dialog().waitFor({ state: 'detached' });
  assert.equal((await stanza('defender_xdr_account', 'contoso'))?.tenant_id, s.tenantId);
});

test('certificate account: the PEM goes to storage/passwords, the connection works, nothing is sent back', async () => {
  const clientCert = await makeLocalCertificate();
  const clientId = randomUUID();
  s.graph.apps.push({ tenantId: s.tenantId, clientId, certificatePem: clientCert.cert, roles: ['SecurityAlert.Read.All', 'SecurityIncident.Read.All', 'ThreatHunting.Read.All'] });
  const pem = `${clientCert.key}\n${clientCert.cert}`;
  await page.getByRole('button', { name: 'Add account' }).click();
  await fill('Account name', 'fabrikam-cert');
  await fill('Tenant ID', s.tenantId);
  await fill('Client ID', clientId);
  await choose(dialog(), 'Cloud', 'Custom endpoints');
  await fill('Login URL', s.graph.baseUrl);
  await fill('Microsoft Graph URL', s.graph.baseUrl);
  await dialog().getByRole('radio', { name: 'Certificate' }).click();
  await fill('Certificate and private key (PEM)', pem);
  await fill('Extra CA bundle', s.caFile);
  await screenshot(page, '07c-account-certificate');
  await save();
  await dialog().waitFor({ state: 'detached' });
  assert.equal((await stanza('defender_xdr_account', 'fabrikam-cert'))?.auth_type, 'certificate');
  assert.equal(await storedSecret('fabrikam-cert'), pem);
  const report = page.locator('[data-report-for="fabrikam-cert"]');
  await report.locator('[data-outcome="ok"]').waitFor({ timeout: 30_000 });
  const keyBody = clientCert.key.split('\n')[1];
  assert.ok(!(await page.content()).includes(keyBody), 'the key is not in the DOM');
  assert.ok(!web.responses.some((r) => r.body.includes(keyBody)), 'the key is never sent back');
  await page.getByRole('button', { name: 'Delete account fabrikam-cert' }).click();
  await confirmDelete();
  await page.getByTestId('status').getByText('Account "fabrikam-cert" and its secret were deleted.').waitFor();
  assert.equal(await storedSecret('fabrikam-cert'), undefined);
});

// The inputs read with an account from a start date (Graph, Defender for Endpoint). The streaming
// inputs' forms come from the same definitions; their own arguments are not driven here.
// The hunting input's required query is not driven here (test/e2e/hunting.test.ts validates it).
const ACCOUNT_INPUTS = INPUTS.filter((d) => ['account', 'start_date'].every((n) => d.args.some((a) => a.name === n)) && !d.args.some((a) => a.required && a.name !== 'account'));
for (const def of ACCOUNT_INPUTS) {
  const hasFilter = def.args.some((a) => a.name === 'filter');
  test(`inputs of ${def.scheme}: validation, create, disable, enable, edit, clone, delete`, async () => {
    await tab('Inputs');
    const section = page.locator(`section[data-scheme="${def.scheme}"]`);
    await section.getByRole('button', { name: `Add ${def.title} input` }).click();
    await dialog().waitFor();
    await fill('Input name', 'tenant-a');
    await fill('Interval', '30');
    await fill('Start date', 'yesterday');
    await save();
    assert.equal(await dialog().locator('[data-error-for="interval"]').textContent(), rules.interval('30'));
    assert.equal(await dialog().locator('[data-error-for="start_date"]').textContent(), rules.startDate('yesterday'));
    await screenshot(page, `08-${def.scheme}-validation`);
    await fill('Interval', '600');
    await fill('Start date', '2024-05-01T00:00:00Z');
    if (hasFilter) await fill('Filter', "severity eq 'high'");
    await save();
    await dialog().waitFor({ state: 'detached' });
    let saved = await input(def.scheme, 'tenant-a');
    assert.equal(saved?.account, 'contoso');
    assert.equal(saved?.interval, '600');
    assert.equal(saved?.start_date, '2024-05-01T00:00:00Z');
    if (hasFilter) assert.equal(saved?.filter, "severity eq 'high'");
    assert.equal(saved?.disabled, false);
    const row = section.locator('[data-input="tenant-a"]');
    assert.equal(await row.locator('[data-status]').textContent(), 'Enabled');
    await screenshot(page, `09-${def.scheme}-list`);

    await row.getByRole('button', { name: 'Disable input tenant-a' }).click();
    await row.locator('[data-status]').getByText('Disabled').waitFor();
    await disabledBecomes(def.scheme, 'tenant-a', true);
    await row.getByRole('button', { name: 'Enable input tenant-a' }).click();
    await row.locator('[data-status]').getByText('Enabled').waitFor();
    await disabledBecomes(def.scheme, 'tenant-a', false);

    await row.getByRole('button', { name: 'Edit input tenant-a' }).click();
    if (hasFilter) await fill('Filter', '');
    await fill('Index', 'defender');
    await save();
    await dialog().waitFor({ state: 'detached' });
    saved = await input(def.scheme, 'tenant-a');
    if (hasFilter) assert.equal(saved?.filter, '');
    assert.equal(saved?.index, 'defender');

    await row.getByRole('button', { name: 'Clone input tenant-a' }).click();
    assert.equal(await field(dialog(), 'Input name').inputValue(), 'tenant-a_copy');
    await save();
    await dialog().waitFor({ state: 'detached' });
    assert.equal((await input(def.scheme, 'tenant-a_copy'))?.index, 'defender');
    await section.getByRole('button', { name: 'Delete input tenant-a_copy' }).click();
    await confirmDelete();
    await section.locator('[data-input="tenant-a_copy"]').waitFor({ state: 'detached' });
    assert.equal(await input(def.scheme, 'tenant-a_copy'), undefined);
  });
}

test('inputs of defender_xdr_hunting: the query is tried when the input is saved; Microsoft\'s refusal is shown in the form', async () => {
  const def = INPUTS.find((d) => d.scheme === 'defender_xdr_hunting')!;
  await tab('Inputs');
  const section = page.locator(`section[data-scheme="${def.scheme}"]`);
  await section.getByRole('button', { name: `Add ${def.title} input` }).click();
  await dialog().waitFor();
  await fill('Input name', 'hunt-a');
  await fill('Interval', '900');
  await fill('Query (KQL)', 'DeviceProcessEvents\n| wher FileName =~ "powershell.exe"');
  await save();
  const error = dialog().getByTestId('form-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /Microsoft refused the query: Query could not be parsed at 'wher'/);
  await screenshot(page, '09b-hunting-query-refused');
  await fill('Query (KQL)', 'DeviceProcessEvents\n| where FileName =~ "powershell.exe"');
  await save();
  await dialog().waitFor({ state: 'detached' });
  const saved = await input(def.scheme, 'hunt-a');
  assert.equal(saved?.query, 'DeviceProcessEvents\n| where FileName =~ "powershell.exe"');
  assert.equal(saved?.account, 'contoso');
  await section.getByRole('button', { name: 'Delete input hunt-a' }).click();
  await confirmDelete();
  await section.locator('[data-input="hunt-a"]').waitFor({ state: 'detached' });
});

test('splunkd refuses an input whose account lost its secret: the validation message is shown in the form', async () => {
  s.splunkd.setConfStanza(APP, 'defender_xdr_account', 'nosecret', { tenant_id: s.tenantId, client_id: s.clientId, cloud: 'commercial' });
  await page.reload();
  await tab('Inputs');
  const def = INPUTS[0];
  const section = page.locator(`section[data-scheme="${def.scheme}"]`);
  await section.getByRole('button', { name: `Add ${def.title} input` }).click();
  await fill('Input name', 'orphan');
  await choose(dialog(), 'Account', 'nosecret');
  await save();
  const error = dialog().getByTestId('form-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /No client secret is stored for account "nosecret"/);
  await screenshot(page, '10-input-refused-by-splunkd');
  await page.keyboard.press('Escape');
  assert.equal(await input(def.scheme, 'orphan'), undefined);
  await page.request.fetch(`${s.splunkd.serverUri}/servicesNS/nobody/${APP}/configs/conf-defender_xdr_account/nosecret`, { method: 'DELETE', headers: { authorization: `Splunk ${s.sessionKey}` } });
});

test('an account used by inputs cannot be deleted (the inputs are listed); unused, it goes with its secret', async () => {
  await tab('Accounts');
  await page.getByRole('button', { name: 'Delete account contoso' }).click();
  const error = page.getByTestId('page-error');
  await error.getByText(/is used by/).waitFor();
  const text = (await error.textContent()) ?? '';
  for (const def of ACCOUNT_INPUTS) assert.match(text, new RegExp(`${def.scheme}://tenant-a`));
  assert.ok(await stanza('defender_xdr_account', 'contoso'));
  assert.equal(await storedSecret('contoso'), s.clientSecret);
  await screenshot(page, '11-account-delete-refused');
  await tab('Inputs');
  for (const def of ACCOUNT_INPUTS) {
    const section = page.locator(`section[data-scheme="${def.scheme}"]`);
    await section.getByRole('button', { name: 'Delete input tenant-a' }).click();
    await confirmDelete();
    await section.locator('[data-input="tenant-a"]').waitFor({ state: 'detached' });
  }
  await tab('Accounts');
  // Asked first: Escape keeps the account.
  await page.getByRole('button', { name: 'Delete account contoso' }).click();
  await dialog().getByText('The account and its stored secret are deleted.').waitFor();
  await screenshot(page, '11b-account-delete-confirm');
  await page.keyboard.press('Escape');
  await dialog().waitFor({ state: 'detached' });
  assert.ok(await stanza('defender_xdr_account', 'contoso'));
  await page.getByRole('button', { name: 'Delete account contoso' }).click();
  await confirmDelete();
  await page.getByTestId('status').getByText('Account "contoso" and its secret were deleted.').waitFor();
  assert.equal(await stanza('defender_xdr_account', 'contoso'), undefined);
  assert.equal(await storedSecret('contoso'), undefined);
});

test('settings: proxy (password write-only, in storage/passwords as __proxy__) and log level in their stanzas', async () => {
  await tab('Settings');
  await page.getByRole('heading', { name: 'Proxy' }).waitFor();
  const toggle = page.getByRole('switch', { name: /Use a proxy/ });
  assert.equal(await toggle.getAttribute('aria-checked'), 'false');
  await toggle.press('Space');
  assert.equal(await toggle.getAttribute('aria-checked'), 'true');
  await field(page.locator('main'), 'Proxy URL').fill('proxy.example.com');
  await page.getByRole('button', { name: 'Save proxy' }).click();
  assert.equal(await page.locator('[data-error-for="proxy_url"]').textContent(), rules.proxyUrl('proxy.example.com'));
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'proxy_url');
  await screenshot(page, '12-settings-validation');
  const proxyPassword = `${SECRET_CANARY}proxy-password`;
  await field(page.locator('main'), 'Proxy URL').fill('http://proxy.example.com:8080');
  await field(page.locator('main'), 'Proxy user').fill('svc-splunk');
  await field(page.locator('main'), 'Proxy password').fill(proxyPassword);
  await page.getByRole('button', { name: 'Save proxy' }).click();
  await page.getByTestId('status').getByText('Proxy settings saved.').waitFor();
  const proxy = await stanza('defender_xdr_settings', 'proxy');
  assert.equal(proxy?.proxy_enabled, 'true');
  assert.equal(proxy?.proxy_url, 'http://proxy.example.com:8080');
  assert.equal(proxy?.proxy_username, 'svc-splunk');
  assert.ok(!Object.values(proxy ?? {}).includes(proxyPassword));
  assert.equal(await storedSecret('__proxy__'), proxyPassword);
  assert.equal(await field(page.locator('main'), 'Proxy password').inputValue(), '');

  await choose(page.locator('main'), 'Log level', 'DEBUG');
  await page.getByRole('button', { name: 'Save log level' }).click();
  await page.getByTestId('status').getByText('Log level set to DEBUG.').waitFor();
  assert.equal((await stanza('defender_xdr_settings', 'logging'))?.loglevel, 'DEBUG');
  await screenshot(page, '13-settings-saved');

  await page.reload();
  await tab('Settings');
  assert.equal(await field(page.locator('main'), 'Proxy URL').inputValue(), 'http://proxy.example.com:8080');
  assert.ok(!(await page.content()).includes(proxyPassword));
  assert.ok(!web.responses.some((r) => r.body.includes(proxyPassword)), 'the proxy password is never sent back');
});

test('settings: the resident collector checkbox saves [collection] resident, with its help, and keeps the other keys', async () => {
  await tab('Settings');
  const box = page.getByRole('checkbox', { name: 'Resident collector', exact: true });
  assert.equal(await box.isChecked(), false, 'off by default (default/defender_xdr_settings.conf)');
  const help = await box.evaluate((el) => (el.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent ?? '').join(' '));
  assert.match(help, /one process per input type instead of one per poll/i);
  assert.match(help, /Restart Splunk to apply/);
  await box.check();
  await page.getByRole('button', { name: 'Save collection settings' }).click();
  await page.getByTestId('status').getByText('Resident collector on: restart Splunk to apply.').waitFor();
  await screenshot(page, '14-settings-resident');
  const collection = await stanza('defender_xdr_settings', 'collection');
  assert.equal(collection?.resident, '1');
  assert.deepEqual([collection?.reread_window, collection?.request_timeout, collection?.max_retries], ['300', '60', '6'], 'the other [collection] keys are not posted over');

  await page.reload();
  await tab('Settings');
  assert.equal(await box.isChecked(), true, 'the page shows the stored value');
  await box.uncheck();
  await page.getByRole('button', { name: 'Save collection settings' }).click();
  await page.getByTestId('status').getByText('Resident collector off: restart Splunk to apply.').waitFor();
  assert.equal((await stanza('defender_xdr_settings', 'collection'))?.resident, '0');
});

test('the page never tripped the CSRF check and raised no script error', () => {
  assert.equal(web.csrfRefusals, 0);
  assert.deepEqual(pageErrors, []);
});
