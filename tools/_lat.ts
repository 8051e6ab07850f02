import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { provisionAccount, runInputProcess, startStandIns, runConfigXml } from './harness.js';
const s = await startStandIns();
provisionAccount(s, 'prod');
s.graph.addAlerts(Number(process.env.N ?? 30000), { at: new Date(Date.now() - 60_000), spreadMs: 30 * 86_400_000 });
s.graph.prepareAlertJson();
s.graph.faults.push({ match: /\/security\/alerts_v2/, fault: { kind: 'delay', ms: 100 }, times: Number.MAX_SAFE_INTEGER });
const start = new Date(Date.now() - 31 * 86_400_000).toISOString();
const t0 = performance.now();
const r = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'bench', { account: 'prod', start_date: start }, mkdtempSync(path.join(s.workDir, 'cp-'))));
const list = s.graph.requests.filter((q) => q.path.endsWith('alerts_v2'));
let prev = t0;
for (const q of list) { console.log((q.receivedAt - t0).toFixed(0), '+' + (q.receivedAt - prev).toFixed(0), q.query.get('$filter')?.slice(0, 60)); prev = q.receivedAt; }
console.log('exit', (performance.now() - t0).toFixed(0), 'stdout bytes', r.stdout?.length);
await s.stop();
