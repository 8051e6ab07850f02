/** The installable package as "Install app from file" receives it. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tar from 'tar';
import { ROOT } from '../../tools/harness.js';

const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
const tgz = path.join(ROOT, 'dist', `TA-defender-xdr-${version}.tgz`);

async function entries(): Promise<Map<string, { mode: number; type: string; mtime: number }>> {
  const found = new Map<string, { mode: number; type: string; mtime: number }>();
  await tar.t({ file: tgz, onReadEntry: (e) => void found.set(e.path, { mode: e.mode ?? 0, type: e.type, mtime: e.mtime?.getTime() ?? -1 }) });
  return found;
}

test('one app folder named TA-defender-xdr with the launchers, bundles, conf and specs', async () => {
  const files = await entries();
  for (const name of files.keys()) assert.ok(name.startsWith('TA-defender-xdr/'), `${name} outside the app folder`);
  for (const required of [
    'TA-defender-xdr/app.manifest',
    'TA-defender-xdr/LICENSE',
    'TA-defender-xdr/default/app.conf',
    'TA-defender-xdr/default/inputs.conf',
    'TA-defender-xdr/default/props.conf',
    'TA-defender-xdr/metadata/default.meta',
    'TA-defender-xdr/README/inputs.conf.spec',
    'TA-defender-xdr/README/defender_xdr_account.conf.spec',
    'TA-defender-xdr/README/defender_xdr_settings.conf.spec',
    ...['defender_xdr_alerts', 'defender_xdr_incidents'].flatMap((s) => [`TA-defender-xdr/bin/${s}.sh`, `TA-defender-xdr/bin/${s}.cmd`, `TA-defender-xdr/bin/${s}.js`]),
    'TA-defender-xdr/default/alert_actions.conf',
    'TA-defender-xdr/README/alert_actions.conf.spec',
    'TA-defender-xdr/README/savedsearches.conf.spec',
    'TA-defender-xdr/bin/lib/actions.js',
    ...['defender_update_alert', 'defender_update_incident'].flatMap((a) => [
      `TA-defender-xdr/bin/${a}.sh`, `TA-defender-xdr/bin/${a}.cmd`, `TA-defender-xdr/bin/lib/${a}.js`, `TA-defender-xdr/default/data/ui/alerts/${a}.html`,
    ]),
  ]) {
    assert.ok(files.has(required), `missing ${required}`);
  }
  // splunkd could run a bin/<action>.js itself (with Splunk's own, deprecated Node.js) instead of the launcher.
  for (const action of ['defender_update_alert', 'defender_update_incident']) assert.ok(!files.has(`TA-defender-xdr/bin/${action}.js`));
});

test('the documentation ships: README.md and every page of docs/, so the installed app keeps what README.md links', async () => {
  const files = await entries();
  const pages = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  assert.ok(pages.includes('README.md') && pages.length >= 10, `docs/ holds ${pages.join(', ')}`);
  for (const doc of ['README.md', ...pages.map((p) => `docs/${p}`)]) assert.ok(files.has(`TA-defender-xdr/${doc}`), `missing TA-defender-xdr/${doc}`);
});

test('only the .sh launchers are executable; no local/, hidden files, node_modules or source maps; fixed mtimes', async () => {
  const files = await entries();
  for (const [name, info] of files) {
    if (info.type !== 'File') continue;
    assert.equal((info.mode & 0o111) !== 0, name.endsWith('.sh'), `${name} mode ${info.mode.toString(8)}`);
    assert.doesNotMatch(name, /\/local\/|\/\.|node_modules|\.map$|local\.meta$/);
    assert.equal(info.mtime, 0, `${name} mtime`);
  }
});

test('launchers: LF for sh, CRLF for cmd', () => {
  const bin = path.join(ROOT, 'dist', 'TA-defender-xdr', 'bin');
  const sh = readFileSync(path.join(bin, 'defender_xdr_alerts.sh'), 'utf8');
  const cmd = readFileSync(path.join(bin, 'defender_xdr_alerts.cmd'), 'utf8');
  assert.ok(sh.startsWith('#!/bin/sh\n') && !sh.includes('\r'));
  assert.ok(cmd.split('\n').slice(0, -1).every((line) => line.endsWith('\r')));
});

test('the launcher says plainly when no suitable Node.js exists', async () => {
  const { spawnSync } = await import('node:child_process');
  // A PATH with the tools a shell script needs but no node; no SPLUNK_HOME.
  const dir = mkdtempSync(path.join(tmpdir(), 'nonode-'));
  for (const tool of ['dirname', 'uname', 'sed', 'tr']) symlinkSync(spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), path.join(dir, tool));
  const r = spawnSync('/bin/sh', [path.join(ROOT, 'dist', 'TA-defender-xdr', 'bin', 'defender_xdr_alerts.sh'), '--scheme'], { env: { PATH: dir }, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ERROR defender_xdr_alerts: no Node\.js 20 or later found/);
});

test('the bundles contain no eval or new Function', () => {
  const app = path.join(ROOT, 'dist', 'TA-defender-xdr');
  const bundles = ['bin/defender_xdr_alerts.js', 'bin/defender_xdr_incidents.js', 'bin/defender_xdr_connection_test.js', 'bin/lib/collector.js', 'appserver/static/configuration.js'];
  for (const file of bundles) {
    const code = readFileSync(path.join(app, file), 'utf8');
    assert.doesNotMatch(code, /\beval\s*\(|new\s+Function\s*\(/, file);
  }
});

test('no dev dependency is bundled (only what package.json lists as dependencies, and theirs)', async () => {
  const { bundledPackages } = await import('../../tools/notices.js');
  const metafile = JSON.parse(readFileSync(path.join(ROOT, 'dist', 'metafile.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const bundled = bundledPackages(metafile).map((p) => p.name);
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(bundled.includes(dep), `${dep} is a dependency but not bundled`);
  // A test tool may also be a dependency of a dependency (rhea, under @azure/event-hubs): the lock
  // file marks packages only the dev tree needs with "dev": true, and only those must stay out.
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  for (const dev of Object.keys(pkg.devDependencies)) {
    if (lock.packages[`node_modules/${dev}`]?.dev !== true) continue;
    assert.ok(!bundled.includes(dev), `dev dependency ${dev} is bundled`);
  }
});
