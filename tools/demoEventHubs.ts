/**
 * The Event Hubs part of `npm start`: the Event Hubs stand-in (AMQP over WebSockets, its own
 * self-signed certificate) with one hub of two partitions holding a few Streaming API messages,
 * and the input's connection string stored in the splunkd stand-in, as the configuration page does.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { APP, type StandIns } from './harness.js';
import { EventHubsStandIn, type SasPolicy } from './simulator/eventHubs.js';
import { makeLocalCertificate } from './simulator/tls.js';

const SCHEME = 'defender_xdr_streaming_eventhub';
const HUB = 'insights-logs-advancedhunting-deviceprocessevents';

/** Starts the stand-in for the input stanza `name`; returns the stanza's parameters and how to stop it. */
export async function startDemoEventHub(s: StandIns, name: string): Promise<{ params: Record<string, string>; stop: () => Promise<void> }> {
  const tls = await makeLocalCertificate();
  const caFile = path.join(s.workDir, 'eventhubs-ca.pem');
  writeFileSync(caFile, tls.cert);
  const policy: SasPolicy = { name: 'splunk-listen', key: 'ZGVtby1rZXktZm9yLXRoZS1zdGFuZC1pbg==' };
  const eh = new EventHubsStandIn({ tls, hubs: [{ name: HUB, partitions: 2, consumerGroups: ['splunk'] }], policies: [policy] });
  await eh.start();
  for (let m = 0; m < 40; m++) {
    const records = Array.from({ length: 5 }, (_, i) => {
      const at = new Date(Date.now() - (40 - m) * 60_000).toISOString();
      return { time: at, tenantId: s.tenantId, operationName: 'Publish', category: 'AdvancedHunting-DeviceProcessEvents', properties: { Timestamp: at, DeviceName: `host${(m + i) % 7}.contoso.com`, FileName: 'powershell.exe', ProcessCommandLine: `powershell.exe -nop -c "Get-Process ${m}-${i}"`, ReportId: m * 5 + i } };
    });
    eh.send(HUB, String(m % 2), [{ records }]);
  }
  s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, eh.connectionString(policy, HUB));
  console.log(`Event Hubs stand-in:   ${eh.endpoint} (AMQP over WebSockets; hub ${HUB}, 2 partitions, 200 records)`);
  return { params: { consumer_group: 'splunk', ca_file: caFile, run_seconds: '30' }, stop: () => eh.stop() };
}
