/**
 * Test connection's reading of the response actions' permissions from the token's roles claim
 * (src/connection/permissions.ts), on tokens shaped as the Entra stand-in issues them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { permissionReport, responseActionNeeds } from '../../src/connection/permissions.js';
import { tokenRoles } from '../../src/microsoft/tokenClaims.js';
import { accessTokenJwt, rolesFor } from '../../tools/simulator/accessToken.js';

const ALL = ['User.Read.All', 'Machine.Read.All', 'Machine.Isolate', 'Machine.Scan', 'Machine.CollectForensics', 'Machine.RestrictExecution', 'Machine.StopAndQuarantine', 'Ti.ReadWrite', 'Vulnerability.Read.All', 'SecurityAlert.Read.All'];
const jwt = (roles: string[]) => accessTokenJwt({ resource: 'https://api.securitycenter.microsoft.com', tenantId: 't', clientId: 'c', roles: rolesFor(roles, 'wdatp'), issuedAtS: 1, expiresAtS: 2 });

test('roles are read from a JWT; a JWT without the claim holds none; opaque and encrypted tokens are unreadable', () => {
  assert.deepEqual(tokenRoles(jwt(['Machine.Isolate', 'SecurityAlert.Read.All'])), ['Machine.Isolate'], 'a WDATP token carries only WDATP roles');
  assert.deepEqual(tokenRoles(jwt([])), []);
  assert.equal(tokenRoles('b3BhcXVlLXRva2Vu'), undefined);
  assert.equal(tokenRoles('a.b.c.d.e'), undefined, 'JWE');
  assert.equal(tokenRoles('x.bm90IGpzb24.y'), undefined, 'payload is not JSON');
});

test('the full set reads as granted, one line per permission of the response actions', () => {
  const report = permissionReport(jwt(ALL));
  assert.equal(report.readable, true);
  assert.equal(report.lines.length, responseActionNeeds().length);
  assert.ok(report.lines.every((l) => l.granted), JSON.stringify(report.lines));
  assert.deepEqual(report.lines.map((l) => l.permission).sort(), ['Machine.CollectForensics', 'Machine.Isolate', 'Machine.Isolate', 'Machine.Read.All', 'Machine.RestrictExecution', 'Machine.Scan', 'Machine.StopAndQuarantine', 'Ti.ReadWrite', 'User.Read.All'].sort());
  assert.equal(report.lines.find((l) => l.feature.endsWith('action=cancel'))!.permission, 'Machine.Isolate', 'cancel: any one of the machine action permissions');
  assert.match(report.message, /Every response action permission is granted/);
});

test('a missing Machine.Isolate is named with what it blocks; Ti.ReadWrite.All stands for Ti.ReadWrite', () => {
  const report = permissionReport(jwt(ALL.filter((r) => r !== 'Machine.Isolate' && r !== 'Ti.ReadWrite').concat('Ti.ReadWrite.All')));
  const missing = report.lines.filter((l) => !l.granted);
  assert.equal(missing.length, 1);
  assert.equal(missing[0]!.permission, 'Machine.Isolate');
  assert.match(missing[0]!.feature, /action=isolate, release/);
  assert.match(missing[0]!.message, /add the application permission Machine\.Isolate of the WindowsDefenderATP API.*refuses action=isolate and action=release/);
  assert.equal(report.lines.find((l) => l.feature === 'defender_submit_indicator')!.permission, 'Ti.ReadWrite.All');
  assert.equal(report.lines.find((l) => l.feature.endsWith('action=cancel'))!.permission, 'Machine.Scan', 'cancel is still allowed through another permission');
  const none = permissionReport(jwt(['Machine.Read.All'])).lines.find((l) => l.feature.endsWith('action=cancel'))!;
  assert.equal(none.granted, false);
  assert.match(none.permission, /^Machine\.Isolate or Machine\.Scan or .*Machine\.LiveResponse$/);
  assert.match(report.message, /1 of \d+ response action permissions are missing/);
});

test('an opaque token says the permissions could not be read, and lists none', () => {
  const report = permissionReport('opaque-token-without-dots');
  assert.equal(report.readable, false);
  assert.deepEqual(report.lines, []);
  assert.match(report.message, /could not be read/);
});
