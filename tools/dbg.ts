import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { APP_DIR, provisionAccount, runConfigXml, startStandIns } from './harness.js';
const s = await startStandIns();
provisionAccount(s, 'prod');
s.graph.addAlerts(Number(process.env.N ?? 10000), { at: new Date(Date.now() - 60_000), spreadMs: 30 * 86_400_000 });
for (const flags of ['', '--max-semi-space-size=4', '--max-old-space-size=128', '--max-semi-space-size=4 --max-old-space-size=128', '--optimize-for-size']) {
  const child = spawn(path.join(APP_DIR, 'bin', 'defender_xdr_alerts.sh'), [], { env: { PATH: process.env.PATH!, TA_DEFENDER_XDR_NODE: '/tmp/nodeflags', NODEFLAGS: flags }, stdio: ['pipe', 'pipe', 'ignore'] });
  let hwm = 0; let n = 0;
  const t = setInterval(() => { try { hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]); } catch {} }, 20);
  child.stdout.on('data', (c: Buffer) => (n += c.length));
  const started = Date.now();
  await new Promise((r) => { child.on('close', r); child.stdin.end(runConfigXml(s, 'defender_xdr_alerts', 'b', { account: 'prod', start_date: new Date(Date.now() - 31 * 86400_000).toISOString() }, mkdtempSync(path.join(s.workDir, 'c')))); });
  clearInterval(t);
  console.log(JSON.stringify(flags), 'peak MB', Math.round(hwm / 1024), 'wall', Date.now() - started, 'bytes', n);
}
await s.stop();
