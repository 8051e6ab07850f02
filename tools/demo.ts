/**
 * `npm start`: the quick start. Starts the Graph/Entra simulator and the splunkd stand-in on
 * loopback, provisions one account, runs each built input once as splunkd would, and prints
 * what was ingested. With `--web` (`npm start -- --web`) it then serves the configuration page
 * through the Splunk Web stand-in until Ctrl-C, the account `demo` already there.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { ADDON_LOG_NAME } from '../src/splunk/logFile.js';
import { APP, APP_DIR, parseStream, provisionAccount, registerAppSchemes, runConfigXml, runInputProcess, startStandIns, type StandIns, type StreamEvent } from './harness.js';
import { startDemoEventHub } from './demoEventHubs.js';
import { SearchHeadStandIn } from './simulator/search.js';
import { SplunkWebStandIn } from './simulator/splunkweb.js';

function summarise(scheme: string, events: StreamEvent[], stderr: string, code: number | null): void {
  const bySeverity = new Map<string, number>();
  for (const e of events) {
    const doc = JSON.parse(e.data);
    const severity = String(doc.severity ?? doc.Severity ?? 'unknown');
    bySeverity.set(severity, (bySeverity.get(severity) ?? 0) + 1);
  }
  console.log(`\n== ${scheme}: exit ${code}, ${events.length} events (sourcetype ${events[0]?.sourcetype ?? '-'})`);
  console.log(`   by severity: ${[...bySeverity].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const e of events.slice(0, 2)) {
    const d = JSON.parse(e.data);
    const extra = Array.isArray(d.alerts) ? `, ${d.alerts.length} alerts inside` : '';
    const what = d.ProcessCommandLine ? `${d.DeviceName}: ${d.ProcessCommandLine}` : d.title ?? d.displayName ?? d.AlertTitle;
    console.log(`   _time=${new Date(e.time * 1000).toISOString()} id=${d.id ?? d.AlertId ?? d.ReportId} "${what}"${extra}`);
  }
  console.log('   input log (stderr → splunkd.log):');
  for (const line of stderr.trim().split('\n').filter(Boolean)) console.log(`     ${line}`);
}

/** Serves the configuration page on the stand-ins until Ctrl-C. */
async function serveWeb(s: StandIns): Promise<void> {
  await registerAppSchemes(s.splunkd);
  const web = new SplunkWebStandIn({ splunkd: s.splunkd, sessionKey: s.sessionKey, apps: { [APP]: APP_DIR } });
  await web.start();
  console.log(`\nConfiguration page: ${web.baseUrl}/en-US/app/${APP}/configuration (user admin, password changeme). Ctrl-C to stop.`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await web.stop();
}

const s = await startStandIns();
try {
  provisionAccount(s, 'demo');
  s.graph.addAlerts(1500, { at: new Date(Date.now() - 60_000), spreadMs: 2 * 24 * 3600 * 1000 });
  s.graph.addIncidents(40, { alertsPerIncident: 3, at: new Date(Date.now() - 60_000), spreadMs: 2 * 24 * 3600 * 1000 });
  s.graph.mde.addAlerts(300, { at: new Date(Date.now() - 60_000), spreadMs: 2 * 24 * 3600 * 1000 });
  s.graph.hunting.addProcessEvents(400, Date.now() - 24 * 3600 * 1000, Date.now() - 10 * 60_000);
  console.log(`Graph/Entra simulator: ${s.graph.baseUrl} (self-signed, trusted through the account's ca_file)`);
  console.log(`splunkd stand-in:      ${s.splunkd.serverUri}`);
  const checkpointDir = mkdtempSync(path.join(s.workDir, 'checkpoints-'));
  // As under splunkd: SPLUNK_HOME set, so each input also writes ta_defender_xdr.log, which the
  // search-head stand-in indexes into _internal for the configuration page's health column.
  const splunkHome = mkdtempSync(path.join(s.workDir, 'splunk-home-'));
  const logDir = path.join(splunkHome, 'var', 'log', 'splunk');
  mkdirSync(logDir, { recursive: true });
  const searchHead = new SearchHeadStandIn(APP_DIR);
  searchHead.monitor(path.join(logDir, ADDON_LOG_NAME));
  s.splunkd.search = searchHead;
  let failed = false;
  const eventHub = await startDemoEventHub(s, 'demo_eventhub');
  const runs: [string, string, Record<string, string>][] = [
    ['defender_xdr_alerts', 'demo', {}],
    ['defender_xdr_incidents', 'demo', {}],
    ['defender_endpoint_alerts', 'demo', {}],
    ['defender_endpoint_alerts', 'demo_siem', { legacy_siem_format: 'true' }],
    ['defender_xdr_hunting', 'demo_powershell', { query: 'DeviceProcessEvents | where FileName =~ "powershell.exe"' }],
    ['defender_xdr_streaming_eventhub', 'demo_eventhub', eventHub.params],
  ];
  for (const [scheme, name, extra] of runs) {
    const config = runConfigXml(s, scheme, name, { account: 'demo', index: 'main', interval: '300', ...extra }, checkpointDir);
    // The stanza splunkd would hold, so the configuration page lists the input (with its health).
    s.splunkd.setConfStanza(APP, 'inputs', `${scheme}://${name}`, { account: 'demo', index: 'main', interval: '300', disabled: '0', ...extra });
    const result = await runInputProcess(scheme, [], config, { env: { SPLUNK_HOME: splunkHome } });
    summarise(`${scheme}://${name}`, parseStream(result.stdout), result.stderr, result.code);
    failed ||= result.code !== 0;
  }
  await eventHub.stop();
  console.log(`\nCheckpoints in ${checkpointDir}; run again with the same folder and only changes would be ingested.`);
  process.exitCode = failed ? 1 : 0;
  if (process.argv.includes('--web')) await serveWeb(s);
} finally {
  await s.stop();
}
