/**
 * A certificate account through the built input (the launcher, as splunkd runs it): msal-node signs
 * its client assertion with jsonwebtoken, which the bundles load only on first use
 * (src/build/lazy-jsonwebtoken.cjs), so this is what proves the bundled path signs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { provisionAccount, runConfigXml, runInputProcess, startStandIns, type StandIns } from '../../tools/harness.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

let s: StandIns;
let clientId: string;

before(async () => {
  s = await startStandIns();
  const clientCert = await makeLocalCertificate();
  clientId = randomUUID();
  s.graph.apps.push({ tenantId: s.tenantId, clientId, certificatePem: clientCert.cert, roles: ['SecurityIncident.Read.All'] });
  provisionAccount(s, 'cert', { client_id: clientId, auth_type: 'certificate' }, `${clientCert.key}\n${clientCert.cert}`);
  // The same client id with another key: Entra refuses its assertion.
  const otherCert = await makeLocalCertificate();
  provisionAccount(s, 'wrong-key', { client_id: clientId, auth_type: 'certificate' }, `${otherCert.key}\n${otherCert.cert}`);
});

after(async () => {
  await s.stop();
});

const poll = (account: string) => {
  const checkpointDir = mkdtempSync(path.join(s.workDir, `cp-${account}-`));
  const params = { account, start_date: new Date(Date.now() - 86_400_000).toISOString() };
  return runInputProcess('defender_xdr_incidents', [], runConfigXml(s, 'defender_xdr_incidents', account, params, checkpointDir));
};

test('a certificate account gets a token with a signed client assertion and polls', async () => {
  const r = await poll('cert');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /INFO Poll finished .*outcome=success/);
});

test('an assertion signed with another key is refused, and the poll fails saying so', async () => {
  const r = await poll('wrong-key');
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /outcome=success/);
  assert.match(r.stderr, /Poll failed/);
});
