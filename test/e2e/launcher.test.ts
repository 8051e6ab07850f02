/**
 * The launchers splunkd starts, with stand-in node/Splunk executables on a controlled PATH, and the
 * real Node.js runtime of the Linux platform package.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tar from 'tar';
import { APP_DIR, ROOT } from '../../tools/harness.js';

const REAL_NODE = process.execPath;
const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;

/** A PATH holding only the tools a launcher needs (and, optionally, a node). */
function toolsDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'launcher-path-'));
  for (const tool of ['dirname', 'uname', 'sed', 'tr']) {
    symlinkSync(spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), path.join(dir, tool));
  }
  return dir;
}

function script(file: string, body: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A node that records being chosen (not its version probe, which may carry V8 flags) and then runs the real one. */
const recordingNode = (file: string, log: string) =>
  script(file, `case " $* " in *" --version "*) ;; *) echo "${file}" >> "${log}" ;; esac\nexec "${REAL_NODE}" "$@"`);

function appCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'launcher-app-'));
  cpSync(APP_DIR, path.join(dir, 'TA-defender-xdr'), { recursive: true });
  return path.join(dir, 'TA-defender-xdr');
}

function launch(app: string, env: Record<string, string>, scheme = 'defender_xdr_alerts') {
  return spawnSync('/bin/sh', [path.join(app, 'bin', `${scheme}.sh`), '--scheme'], { env, encoding: 'utf8' });
}

test('a Node.js older than 20 is skipped; with nothing else the launcher says what to install', () => {
  const bin = toolsDir();
  script(path.join(bin, 'node'), 'echo v18.20.4'); // answers the version probe like Node 18
  const r = launch(APP_DIR, { PATH: bin });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ERROR defender_xdr_alerts: no Node\.js 20 or later found/);
  assert.equal(r.stdout, '');
});

test("Splunk's own node is used when it is recent enough, before node on PATH", () => {
  const bin = toolsDir();
  const log = path.join(bin, 'chosen.log');
  recordingNode(path.join(bin, 'node'), log);
  const splunkHome = mkdtempSync(path.join(tmpdir(), 'splunk-home-'));
  const splunkNode = recordingNode(path.join(splunkHome, 'bin', 'node'), log);
  const r = launch(APP_DIR, { PATH: bin, SPLUNK_HOME: splunkHome });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<scheme>/);
  assert.equal(readFileSync(log, 'utf8').trim(), splunkNode);
});

test("the launcher's V8 flags reach node; a node whose V8 refuses one still runs, without them", () => {
  const bin = toolsDir();
  const log = path.join(bin, 'args.log');
  // Records the arguments of the run (not of the probe), and refuses --liftoff-only as a V8 without it would.
  const refusing = (file: string) =>
    script(file, `case " $* " in *" --liftoff-only "*) [ -n "$REFUSE" ] && { echo "node: bad option: --liftoff-only" >&2; exit 9; } ;; esac\ncase " $* " in *" --version "*) ;; *) echo "$*" >> "${log}" ;; esac\nexec "${REAL_NODE}" "$@"`);
  refusing(path.join(bin, 'node'));
  const flags = ['--max-semi-space-size=4', '--heap-growing-percent=100', '--liftoff-only'];
  const entry = path.join(APP_DIR, 'bin', 'defender_xdr_alerts.js');
  let r = launch(APP_DIR, { PATH: bin });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(log, 'utf8').trim(), [...flags, entry, '--scheme'].join(' '));
  writeFileSync(log, '');
  r = launch(APP_DIR, { PATH: bin, REFUSE: '1' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<scheme>/);
  assert.equal(readFileSync(log, 'utf8').trim(), `${entry} --scheme`);
  // The streaming inputs' young generation is larger (src/build/launcher.sh says why).
  writeFileSync(log, '');
  r = launch(APP_DIR, { PATH: bin }, 'defender_xdr_streaming_blob');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(log, 'utf8').trim(), ['--max-semi-space-size=8', ...flags.slice(1), path.join(APP_DIR, 'bin', 'defender_xdr_streaming_blob.js'), '--scheme'].join(' '));
});

test('[runtime] node_path in local/defender_xdr_settings.conf wins over Splunk and PATH', () => {
  const app = appCopy();
  const bin = toolsDir();
  const log = path.join(bin, 'chosen.log');
  const splunkHome = mkdtempSync(path.join(tmpdir(), 'splunk-home-'));
  recordingNode(path.join(splunkHome, 'bin', 'node'), log);
  const configured = recordingNode(path.join(mkdtempSync(path.join(tmpdir(), 'opt-node-')), 'node'), log);
  mkdirSync(path.join(app, 'local'));
  writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), `[logging]\nloglevel = DEBUG\n\n[runtime]\r\nnode_path = ${configured}  \r\n`);
  const r = launch(app, { PATH: bin, SPLUNK_HOME: splunkHome });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(log, 'utf8').trim(), configured);
});

test('a node_path with spaces in it, set in local/ with an empty default, reached when the launcher is started by a relative path', () => {
  const app = appCopy();
  const bin = toolsDir();
  const log = path.join(bin, 'chosen.log');
  const configured = recordingNode(path.join(mkdtempSync(path.join(tmpdir(), 'opt node-')), 'my node'), log);
  mkdirSync(path.join(app, 'local'));
  writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), `[other]\nnode_path = /not/this/one\n[runtime]\n   node_path   =   ${configured}\t\n[after]\n`);
  const r = spawnSync('/bin/sh', [path.join('bin', 'defender_xdr_alerts.sh'), '--scheme'], { cwd: app, env: { PATH: bin }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<scheme>/);
  assert.equal(readFileSync(log, 'utf8').trim(), configured);
});

test('the Linux platform package runs on its bundled Node.js with no other node anywhere', async (t) => {
  const tgz = path.join(ROOT, 'dist', `TA-defender-xdr-${version}-linux-x86_64.tgz`);
  if (!existsSync(tgz) || process.platform !== 'linux' || process.arch !== 'x64') {
    t.skip('no linux-x86_64 platform package on this machine');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'platform-'));
  await tar.x({ file: tgz, cwd: dir });
  const app = path.join(dir, 'TA-defender-xdr');
  const bundled = path.join(app, 'linux_x86_64', 'bin', 'node');
  assert.match(spawnSync(bundled, ['--version'], { encoding: 'utf8' }).stdout, /^v22\./);
  assert.ok(existsSync(path.join(app, 'linux_x86_64', 'NODE-LICENSE.txt')));
  const r = launch(app, { PATH: toolsDir() });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /<streaming_mode>xml<\/streaming_mode>/);
});
