/**
 * End to end, Entra sign-in: the built defender_xdr_streaming_eventhub bundle through its launcher,
 * with auth_type = entra (an account's app instead of a SAS connection string). The token comes
 * from the Entra stand-in (tools/simulator/graph.ts), the SDK puts it on `$cbs` as a JWT, and the
 * Event Hubs stand-in accepts it only if Entra issued it for https://eventhubs.azure.net.
 *
 * `namespace` must be a fully qualified name, which the SDK reaches on port 443: the input goes
 * through its `[proxy]` (an authenticating CONNECT proxy on loopback) whose own name resolution
 * maps contoso-defender.servicebus.windows.net:443 to the stand-in, as a corporate proxy's DNS
 * would. The stand-in's certificate names the namespace; TLS verification stays on (ca_file).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APP, parseStream, provisionAccount, runConfigXml, runInputProcess, SECRET_CANARY, startStandIns, type RunResult, type StandIns } from '../../tools/harness.js';
import { EventHubsStandIn } from '../../tools/simulator/eventHubs.js';
import { EVENT_HUBS_RESOURCE } from '../../tools/simulator/graph.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';
import { ConnectProxy } from '../helpers/connectProxy.js';

const SCHEME = 'defender_xdr_streaming_eventhub';
const NAMESPACE = 'contoso-defender.servicebus.windows.net';
const HUB = 'insights-logs-advancedhunting-deviceprocessevents';
let s: StandIns;
let eh: EventHubsStandIn;
let proxy: ConnectProxy;
let namespaceCa: string;

before(async () => {
  s = await startStandIns();
  const tls = await makeLocalCertificate([NAMESPACE]);
  namespaceCa = path.join(s.workDir, 'namespace-ca.pem');
  writeFileSync(namespaceCa, tls.cert);
  eh = new EventHubsStandIn({
    tls,
    namespaceName: NAMESPACE,
    hubs: [{ name: HUB, partitions: 2, consumerGroups: ['splunk'] }],
    // No SAS policy at all: only Entra's tokens open this namespace.
    policies: [],
    jwtProblem: (token) => s.graph.accessTokenProblem(token, EVENT_HUBS_RESOURCE),
  });
  await eh.start();
  proxy = new ConnectProxy('splunk', `${SECRET_CANARY}proxy-pass`, { [`${NAMESPACE}:443`]: `127.0.0.1:${eh.port}` });
  await proxy.start();
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'proxy', { proxy_enabled: '1', proxy_url: proxy.url, proxy_username: 'splunk' });
  s.splunkd.setPassword(APP, APP, '__proxy__', `${SECRET_CANARY}proxy-pass`);
});
after(async () => {
  await proxy?.stop();
  await eh?.stop();
  await s?.stop();
});

const idsOf = (r: RunResult) => parseStream(r.stdout).map((e) => (JSON.parse(e.data) as { ReportId: string }).ReportId);

async function run(name: string, account: string): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  const params = { auth_type: 'entra', account, namespace: NAMESPACE, event_hub: HUB, consumer_group: 'splunk', ca_file: namespaceCa, run_seconds: '20' };
  const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, params, mkdtempSync(path.join(s.workDir, 'cp-'))));
  assert.ok(!r.stdout.includes(SECRET_CANARY) && !r.stderr.includes(SECRET_CANARY), 'secret leaked');
  return { ...r, ms: Date.now() - started };
}

describe('defender_xdr_streaming_eventhub with Entra sign-in (built bundle, real SDK, AMQP over WebSockets)', () => {
  test("the account's app signs in at the Entra stand-in, the SDK puts the JWT on $cbs, and every record arrives", async () => {
    provisionAccount(s, 'entra-eh');
    const sent: string[] = [];
    for (const partition of ['0', '1']) {
      const bodies = Array.from({ length: 4 }, (_, m) => {
        const records = [0, 1].map((k) => {
          const id = `p${partition}m${m}r${k}`;
          sent.push(id);
          return { time: new Date().toISOString(), tenantId: s.tenantId, category: 'AdvancedHunting-DeviceProcessEvents', properties: { Timestamp: new Date().toISOString(), ReportId: id } };
        });
        return { records };
      });
      eh.send(HUB, partition, bodies);
    }
    const cbsBefore = eh.cbs.length;
    const r = await run('entra', 'entra-eh');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(idsOf(r).sort(), sent.sort());
    const puts = eh.cbs.slice(cbsBefore);
    assert.ok(puts.length > 0 && puts.every((p) => p.type === 'jwt' && p.status === 202), JSON.stringify(puts));
    for (const partition of ['0', '1']) {
      assert.ok(puts.some((p) => p.audience.toLowerCase() === `sb://${NAMESPACE}/${HUB}/consumergroups/splunk/partitions/${partition}`), `a JWT put for partition ${partition}: ${JSON.stringify(puts)}`);
    }
    assert.ok(proxy.connects.some((c) => c.target === `${NAMESPACE}:443` && c.auth), 'AMQP over WebSockets through the proxy to the namespace');
  });

  test('a wrong client secret fails the run in seconds with the fix named', async () => {
    provisionAccount(s, 'entra-wrong', {}, `${SECRET_CANARY}not-the-secret`);
    const cbsBefore = eh.cbs.length;
    const r = await run('entrawrong', 'entra-wrong');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERROR Poll failed: .*The client secret is wrong \(AADSTS7000215\)\. Copy the secret's Value/);
    assert.ok(r.ms < 15_000, `failed after ${r.ms} ms`);
    assert.equal(eh.cbs.length, cbsBefore, 'no token reached $cbs');
    assert.equal(r.stdout, '<stream></stream>');
  });
});
