import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateAccountStanza } from '../../src/config/account.js';
import { interval } from '../../src/config/rules.js';
import { parseReportMessage, reportMessage, type ConnectionReport } from '../../src/connection/report.js';
import { INPUTS } from '../../src/inputs/catalog.js';
import { validateParams } from '../../src/splunk/args.js';
import { accountErrors, inputErrors, proxyErrors } from '../../src/ui/validation.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';

test('the page says about an account field exactly what validateAccountStanza says', () => {
  const cases: Record<string, string>[] = [
    { tenant_id: 'not a tenant', client_id: CLIENT },
    { tenant_id: TENANT, client_id: '1234' },
    { tenant_id: TENANT, client_id: CLIENT, cloud: 'mars' },
    { tenant_id: TENANT, client_id: CLIENT, cloud: 'custom', login_url: 'http://login.example.com', graph_url: 'https://graph.example.com' },
    { tenant_id: TENANT, client_id: CLIENT, cloud: 'custom', login_url: 'https://login.example.com' },
    { tenant_id: '', client_id: CLIENT },
  ];
  for (const stanza of cases) {
    const server = validateAccountStanza('a', stanza);
    const page = accountErrors({ ...stanza, name: 'a', secret: 'x' }, true);
    const [key, message] = Object.entries(page)[0] ?? [];
    assert.ok(server && key && message, JSON.stringify(stanza));
    if (message === 'Required.') assert.equal(server, `Account "a": ${key} is required.`);
    else assert.equal(server, `Account "a": ${key}: ${message}`);
  }
  assert.deepEqual(accountErrors({ name: 'a', tenant_id: TENANT, client_id: CLIENT, cloud: 'commercial', secret: 'x' }, true), {});
  assert.deepEqual(Object.keys(accountErrors({ name: 'bad name', tenant_id: TENANT, client_id: CLIENT, secret: '' }, true)).sort(), ['name', 'secret']);
  assert.deepEqual(accountErrors({ name: 'a', tenant_id: TENANT, client_id: CLIENT, secret: '' }, false), {}, 'editing keeps the stored secret');
});

test('the page checks every argument of every input kind with its definition, as --validate-arguments does', () => {
  for (const def of INPUTS) {
    const bad: Record<string, string> = { name: 'in1', interval: '300', account: 'acct', query: 'DeviceProcessEvents', start_date: 'yesterday', filter: "severity eq 'high", reread_window: '-5' };
    const page = inputErrors(def, bad, true);
    const server = validateParams(def, bad);
    const first = def.args.find((a) => page[a.name]);
    // Inputs without these arguments (the streaming ones) have nothing wrong here, on both sides.
    assert.equal(Boolean(first), Boolean(server), def.scheme);
    if (first) assert.equal(server, `${first.title} (${first.name}): ${page[first.name]}`);
    for (const arg of def.args) if (arg.validate && bad[arg.name]) assert.equal(page[arg.name], arg.validate(bad[arg.name]), arg.name);
    assert.equal(inputErrors(def, { ...bad, interval: '30' }, true).interval, interval('30'));
    assert.deepEqual(inputErrors(def, { name: 'in1', interval: '300', account: 'acct', query: 'DeviceProcessEvents' }, true), {});
    if (def.args.find((a) => a.name === 'account')?.required) assert.equal(inputErrors(def, { name: 'in1', interval: '300' }, true).account, 'Required.');
  }
});

test('proxy URL is checked only when the proxy is on', () => {
  assert.deepEqual(proxyErrors({ proxy_enabled: '0', proxy_url: 'nonsense' }), {});
  assert.match(proxyErrors({ proxy_enabled: '1', proxy_url: 'proxy.example.com' }).proxy_url ?? '', /./);
  assert.deepEqual(proxyErrors({ proxy_enabled: '1', proxy_url: 'http://proxy.example.com:8080' }), {});
});

test('the connection report survives the trip through splunkd\'s validation message', () => {
  const report: ConnectionReport = { account: 'a', ok: false, steps: [{ title: 'Token', ok: true, message: 'fine' }, { title: 'X', ok: false, message: 'a "quoted" } brace' }] };
  assert.deepEqual(parseReportMessage(reportMessage(report)), report);
  // splunkd may put its own words around the script's message.
  assert.deepEqual(parseReportMessage(`Validation for scheme=x failed: ${reportMessage(report)}.`), report);
  assert.equal(parseReportMessage('No client secret is stored for account "a".'), undefined);
  assert.equal(parseReportMessage(`${reportMessage(report).slice(0, 60)}`), undefined);
});
