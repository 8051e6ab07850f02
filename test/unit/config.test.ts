import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountFromStanza, validateAccountStanza } from '../../src/config/account.js';
import * as rules from '../../src/config/rules.js';
import { explainAuthFailure } from '../../src/microsoft/auth.js';
import { cloudEndpoints } from '../../src/microsoft/clouds.js';
import { canonicalTimestamp, parseStartDate } from '../../src/microsoft/timestamps.js';
import { windowFilter } from '../../src/sources/graphQuery.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

test('account stanzas: each bad field is named', () => {
  const good = { tenant_id: TENANT, client_id: CLIENT, auth_type: 'client_secret', cloud: 'commercial' };
  assert.equal(validateAccountStanza('a', good), undefined);
  assert.equal(validateAccountStanza('a', { ...good, tenant_id: 'contoso.onmicrosoft.com' }), undefined);
  assert.match(validateAccountStanza('a', { ...good, tenant_id: 'not a tenant' })!, /tenant_id/);
  assert.match(validateAccountStanza('a', { ...good, client_id: '1234' })!, /client_id.*not a GUID/);
  assert.match(validateAccountStanza('a', { ...good, cloud: 'moon' })!, /cloud/);
  assert.match(validateAccountStanza('a', { ...good, auth_type: 'password' })!, /auth_type/);
  assert.match(validateAccountStanza('a', { ...good, cloud: 'custom' })!, /login_url is required/);
  assert.match(validateAccountStanza('a', { ...good, cloud: 'custom', login_url: 'http://login.example', graph_url: 'https://g.example' })!, /login_url.*https/);
});

test('clouds resolve to their sign-in and Graph hosts', () => {
  assert.equal(accountFromStanza('a', { tenant_id: TENANT, client_id: CLIENT }).endpoints.graphUrl, 'https://graph.microsoft.com');
  assert.deepEqual(cloudEndpoints('gcc_high'), {
    loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us',
    mdeUrl: 'https://api-gov.securitycenter.microsoft.us', mdeResource: 'https://api-gov.securitycenter.microsoft.us',
  });
  assert.equal(cloudEndpoints('dod').graphUrl, 'https://dod-graph.microsoft.us');
  assert.equal(cloudEndpoints('china').mdeUrl, undefined);
  assert.deepEqual(cloudEndpoints('custom', { loginUrl: 'https://l.example/', graphUrl: 'https://g.example//' }), { loginUrl: 'https://l.example', graphUrl: 'https://g.example', mdeUrl: undefined, mdeResource: undefined });
});

test('Defender for Endpoint regions: host per region, token resource per cloud', () => {
  const account = (over: Record<string, string>) => accountFromStanza('a', { tenant_id: TENANT, client_id: CLIENT, ...over }).endpoints;
  const commercial = 'https://api.securitycenter.microsoft.com';
  assert.deepEqual([account({}).mdeUrl, account({}).mdeResource], [commercial, commercial]);
  // Regional hosts take tokens for the legacy resource, not for themselves.
  for (const region of ['us', 'eu', 'uk']) {
    assert.deepEqual([account({ mde_region: region }).mdeUrl, account({ mde_region: region }).mdeResource], [`https://api-${region}.securitycenter.microsoft.com`, commercial]);
  }
  assert.deepEqual([account({ cloud: 'gcc' }).mdeUrl, account({ cloud: 'gcc' }).mdeResource], ['https://api-gcc.securitycenter.microsoft.us', 'https://api-gcc.securitycenter.microsoft.us']);
  assert.equal(account({ cloud: 'gcc', mde_region: 'general' }).mdeUrl, commercial, 'GCC tenants may run Defender for Endpoint in commercial');
  assert.deepEqual([account({ cloud: 'dod' }).mdeUrl, account({ cloud: 'dod' }).mdeResource], ['https://api-gov.securitycenter.microsoft.us', 'https://api-gov.securitycenter.microsoft.us']);
  assert.equal(account({ cloud: 'gcc_high', mde_region: 'gcc_high' }).loginUrl, 'https://login.microsoftonline.us');
  // An explicit host replaces the region's, the resource stays the region's.
  assert.deepEqual([account({ mde_url: 'https://us.api.security.microsoft.com/' }).mdeUrl, account({ mde_url: 'https://us.api.security.microsoft.com' }).mdeResource], ['https://us.api.security.microsoft.com', commercial]);
  assert.equal(account({ cloud: 'china' }).mdeUrl, undefined);
  assert.equal(account({ cloud: 'custom', login_url: 'https://l.example', graph_url: 'https://g.example', mde_url: 'https://m.example:8443/' }).mdeResource, 'https://m.example:8443');

  const good = { tenant_id: TENANT, client_id: CLIENT };
  assert.match(validateAccountStanza('a', { ...good, mde_region: 'apac' })!, /mde_region: "apac" is not one of general, us, eu, uk, gcc, gcc_high, dod/);
  assert.match(validateAccountStanza('a', { ...good, mde_region: 'gcc_high' })!, /mde_region: "gcc_high" is not a Defender for Endpoint region of cloud commercial; use one of general, us, eu, uk/);
  assert.match(validateAccountStanza('a', { ...good, cloud: 'dod', mde_region: 'us' })!, /use one of dod/);
  assert.match(validateAccountStanza('a', { ...good, cloud: 'china', mde_region: 'general' })!, /china has no Defender for Endpoint API/);
  assert.equal(validateAccountStanza('a', { ...good, cloud: 'gcc', mde_region: 'eu' }), undefined);
});

test('rules shared with the configuration page', () => {
  assert.equal(rules.interval('300'), undefined);
  assert.equal(rules.interval('*/5 * * * *'), undefined);
  assert.match(rules.interval('10')!, /too short/);
  assert.equal(rules.interval('-1'), undefined);
  assert.equal(rules.interval('604800'), undefined);
  assert.match(rules.interval('soon')!, /cron schedule/);
  assert.equal(rules.proxyUrl('http://proxy.corp:8080'), undefined);
  assert.match(rules.proxyUrl('http://user:pw@proxy.corp:8080')!, /own fields/);
  assert.match(rules.odataFilter("(a eq 'x'")!, /without its/);
  assert.equal(rules.odataFilter("title eq 'it''s (fine'"), undefined);
  assert.match(rules.accountName('../etc')!, /letters, digits/);
});

test('timestamps: 0-7 fractional digits compare correctly in canonical form', () => {
  assert.equal(canonicalTimestamp('2024-05-01T10:11:12Z'), '2024-05-01T10:11:12.0000000Z');
  assert.equal(canonicalTimestamp('2024-05-01T10:11:12.1234567Z'), '2024-05-01T10:11:12.1234567Z');
  assert.ok(canonicalTimestamp('2024-05-01T10:11:12.5Z') > canonicalTimestamp('2024-05-01T10:11:12Z'));
  assert.equal(canonicalTimestamp('2024-05-01T12:11:12.000+02:00'), '2024-05-01T10:11:12.0000000Z');
  assert.equal(parseStartDate('2024-05-01'), Date.parse('2024-05-01T00:00:00Z'));
  assert.equal(parseStartDate('2024-05-01T08:00:00'), Date.parse('2024-05-01T08:00:00Z'));
  assert.equal(parseStartDate('May 1st'), undefined);
});

test('the admin filter is parenthesised so its "or" cannot widen the window', () => {
  assert.equal(
    windowFilter('2024-05-01T00:00:00.0000000Z', '2024-05-02T00:00:00.0000000Z', "severity eq 'high' or status eq 'new'"),
    "lastUpdateDateTime ge 2024-05-01T00:00:00.0000000Z and lastUpdateDateTime lt 2024-05-02T00:00:00.0000000Z and (severity eq 'high' or status eq 'new')",
  );
});

test('Entra errors become instructions', () => {
  const c = { tenantId: TENANT, clientId: CLIENT, authType: 'client_secret' as const, loginUrl: 'https://login.microsoftonline.com' };
  assert.match(explainAuthFailure({ errorCode: 'invalid_client', errorMessage: 'AADSTS7000222: The provided client secret keys are expired.' }, c), /expired.*new secret/);
  assert.match(explainAuthFailure({ errorCode: 'invalid_request', errorMessage: 'AADSTS90002: Tenant not found.' }, c), new RegExp(`has no tenant ${TENANT} \\(AADSTS90002\\)\\. Check tenant_id, the account's cloud`));
  assert.match(explainAuthFailure({ errorCode: 'invalid_client', errorMessage: 'AADSTS700027: Client assertion failed signature validation.' }, { ...c, authType: 'certificate' }), /certificate is not registered/);
  assert.match(explainAuthFailure(new Error('socket hang up'), c), /Could not get a token .*socket hang up/);
});
