import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { INPUTS, SCHEMES } from '../../src/inputs/catalog.js';
import { parseInputConfig } from '../../src/splunk/modinput.js';
import { inputsSpec, schemeXml, validateParams } from '../../src/splunk/scheme.js';
import { alertsDefinition } from '../../src/sources/graph-alerts/definition.js';

test('run-mode configuration: stanza, params, param_list, entities, a lying utf-16 declaration', () => {
  const xml = `<?xml version="1.0" encoding="utf-16"?>
<input><server_host>hf01</server_host><server_uri>https://127.0.0.1:8089</server_uri><session_key>abc=&amp;123</session_key>
<checkpoint_dir>/opt/splunk/var/lib/splunk/modinputs/defender_xdr_alerts</checkpoint_dir>
<configuration><stanza name="defender_xdr_alerts://prod tenant" app="TA-defender-xdr">
<param name="account">prod</param><param name="filter">severity eq 'high' and title eq 'a&lt;b'</param><param name="interval">300</param>
<param_list name="multi"><value>a</value><value>b</value></param_list></stanza></configuration></input>`;
  const config = parseInputConfig(xml);
  assert.equal(config.stanza, 'defender_xdr_alerts://prod tenant');
  assert.equal(config.name, 'prod tenant');
  assert.equal(config.sessionKey, 'abc=&123');
  assert.equal(config.serverUri, 'https://127.0.0.1:8089');
  assert.equal(config.params.filter, "severity eq 'high' and title eq 'a<b'");
  assert.equal(config.params.multi, 'a,b');
});

test('validation-mode configuration uses <items><item name>', () => {
  const config = parseInputConfig(
    '<items><server_host>h</server_host><server_uri>http://127.0.0.1:1</server_uri><session_key>k</session_key><checkpoint_dir>/c</checkpoint_dir><item name="prod"><param name="account">a1</param></item></items>',
  );
  assert.equal(config.stanza, 'prod');
  assert.equal(config.params.account, 'a1');
});

test('garbage on stdin is a clear error', () => {
  assert.throws(() => parseInputConfig('hello'), /neither <input> nor <items>/);
});

test('--scheme XML is well-formed and declares every argument of the definition', () => {
  for (const def of INPUTS) {
    const xml = schemeXml(def);
    assert.equal(XMLValidator.validate(xml), true);
    const scheme = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'arg' }).parse(xml).scheme;
    assert.equal(scheme.streaming_mode, 'xml');
    assert.equal(scheme.use_external_validation, true);
    const names = scheme.endpoint.args.arg.map((a: Record<string, string>) => a['@_name']);
    assert.deepEqual(names, def.args.map((a) => a.name));
    const account = scheme.endpoint.args.arg.find((a: Record<string, string>) => a['@_name'] === 'account');
    // The Graph inputs need an account; the streaming inputs carry their own secret (account optional or absent).
    if (def.scheme.startsWith('defender_xdr_streaming_')) assert.ok(!account || account.required_on_create === false, def.scheme);
    else assert.equal(account.required_on_create, true);
  }
});

test('README/inputs.conf.spec is exactly what the definitions generate (run npm run gen:spec after changing them)', () => {
  const committed = readFileSync(new URL('../../README/inputs.conf.spec', import.meta.url), 'utf8');
  assert.equal(committed, inputsSpec(SCHEMES));
  for (const def of SCHEMES) for (const arg of def.args) assert.match(committed, new RegExp(`^${arg.name} = `, 'm'));
});

test('parameter validation names the field', () => {
  assert.match(validateParams(alertsDefinition, {})!, /account.*required/i);
  assert.match(validateParams(alertsDefinition, { account: 'a', start_date: 'yesterday' })!, /start_date/);
  assert.match(validateParams(alertsDefinition, { account: 'a', start_date: '2999-01-01' })!, /start_date.*future/);
  assert.match(validateParams(alertsDefinition, { account: 'a', filter: "severity eq 'high" })!, /filter.*unterminated/);
  assert.match(validateParams(alertsDefinition, { account: 'a', reread_window: '-5' })!, /reread_window/);
  assert.equal(validateParams(alertsDefinition, { account: 'a', start_date: '2024-05-01T00:00:00Z', filter: "(severity eq 'high' or status eq 'new')" }), undefined);
});
