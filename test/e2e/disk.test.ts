/**
 * A full and a read-only checkpoint folder (a small tmpfs, so it needs root, as CI has): the poll
 * fails loudly, the old checkpoint stays whole, and the next poll on a healthy folder loses nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseStream, provisionAccount, runConfigXml, runInputProcess, startStandIns, type StandIns } from '../../tools/harness.js';

let s: StandIns;
let mountPoint = '';
let mounted = false;

before(async () => {
  s = await startStandIns();
  provisionAccount(s, 'prod');
  mountPoint = mkdtempSync(path.join(s.workDir, 'small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint], { stdio: 'ignore' });
    mounted = true;
  } catch {
    mounted = false;
  }
});
after(async () => {
  if (mounted) execFileSync('umount', [mountPoint]);
  await s?.stop();
});

const ids = (stdout: string) => parseStream(stdout).map((e) => JSON.parse(e.data).id as string);
const params = () => ({ account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() });

test('a full disk fails the poll loudly; resumed on a healthy folder nothing is lost', async (t) => {
  if (!mounted) return t.skip('mounting a tmpfs needs root');
  s.graph.alerts.clear();
  s.graph.addAlerts(4000, { at: new Date(Date.now() - 60_000), spreadMs: 3_600_000 });
  const full = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'disk', params(), mountPoint));
  assert.equal(full.code, 1);
  assert.match(full.stderr, /^ERROR Poll failed: Cannot save the checkpoint .*ENOSPC/m);
  assert.ok(!readdirSync(mountPoint).some((f) => f.includes('.tmp-')), 'no partial temp file left');
  const healthy = mkdtempSync(path.join(s.workDir, 'healthy-'));
  cpSync(mountPoint, healthy, { recursive: true });
  const resumed = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'disk', params(), healthy));
  assert.equal(resumed.code, 0, resumed.stderr);
  const all = new Set([...ids(full.stdout), ...ids(resumed.stdout)]);
  assert.equal(all.size, 4000);
});

test('a read-only checkpoint folder fails the poll before emitting anything', async (t) => {
  if (!mounted) return t.skip('mounting a tmpfs needs root');
  execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
  try {
    const r = await runInputProcess('defender_xdr_alerts', [], runConfigXml(s, 'defender_xdr_alerts', 'readonly', params(), mountPoint));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR Poll failed: .*EROFS/m);
    assert.deepEqual(parseStream(r.stdout), []);
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
  }
});
