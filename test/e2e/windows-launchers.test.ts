/**
 * The Windows packages as splunkd on Windows starts them: bin\<scheme>.cmd and bin\<action>.cmd run
 * under Wine (test/helpers/wine.ts), from an app folder whose path has spaces, non-ASCII
 * characters and parentheses, on the real node.exe of the Windows platform package. Where the
 * launcher looks for Node.js is shown with stand-in node.exe programs (test/helpers/wine/
 * node-standin.c): each answers --version as a node would, and a run records itself and hands its
 * command line to the real node.exe. What Wine cannot show is in docs/windows.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tar from 'tar';
import { XMLParser } from 'fast-xml-parser';
import { APP, APP_DIR, provisionAccount, ROOT, startStandIns, validateConfigXml } from '../../tools/harness.js';
import { freshFolder, mingwMissing, placeStandIn, runWindows, standInRuns, wine, wineMissing, windowsPath, type Wine } from '../helpers/wine.js';

const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
const GENERIC_TGZ = path.join(ROOT, 'dist', `${APP}-${version}.tgz`);
const WINDOWS_TGZ = path.join(ROOT, 'dist', `${APP}-${version}-windows-x86_64.tgz`);
/** Where splunkd would be installed: spaces, a non-ASCII letter and parentheses, as in "Program Files (x86)". */
const SPLUNK_FOLDER = ['Program Files', 'Splunk Übung (x86)'];

const V8_FLAGS = '--max-semi-space-size=4 --heap-growing-percent=100 --liftoff-only';
const noWine = wineMissing();
const noMingw = mingwMissing();
const noWindowsPackage = existsSync(WINDOWS_TGZ) ? undefined : `no ${path.relative(ROOT, WINDOWS_TGZ)} (npm run build without TA_SKIP_PLATFORM_PACKAGES=1 makes it)`;

/** Input schemes (README/inputs.conf.spec) and alert actions (alert_actions.conf) of the built app. */
const INPUTS = [...readFileSync(path.join(APP_DIR, 'README', 'inputs.conf.spec'), 'utf8').matchAll(/^\[([A-Za-z0-9_]+):\/\/<name>\]/gm)].map((m) => m[1]!);
const ACTIONS = [...readFileSync(path.join(APP_DIR, 'default', 'alert_actions.conf'), 'utf8').matchAll(/^\[([A-Za-z0-9_]+)\]/gm)].map((m) => m[1]!);
/** The search commands of commands.conf, and the REST handlers whose driver restmap.conf names. */
const COMMANDS = [...readFileSync(path.join(APP_DIR, 'default', 'commands.conf'), 'utf8').matchAll(/^\[([A-Za-z0-9_]+)\]/gm)].map((m) => m[1]!);
const HANDLERS = [...readFileSync(path.join(APP_DIR, 'default', 'restmap.conf'), 'utf8').matchAll(/^driver = .*\/bin\/([A-Za-z0-9_]+)\.sh$/gm)].map((m) => m[1]!);

/** splunkd's first chunk to a search command (getinfo): the command answers without any call. */
function getinfoChunk(): string {
  const meta = JSON.stringify({ action: 'getinfo', preview: false, searchinfo: { args: ['account=prod', 'query=AlertInfo'], raw_args: [], sid: '1', app: 'search', owner: 'u', username: 'u', session_key: 'not-used', splunkd_uri: 'https://127.0.0.1:9', dispatch_dir: '.', search: '| defenderhunt', maxresultrows: 50, earliest_time: '0', latest_time: '1' } });
  return `chunked 1.0,${Buffer.byteLength(meta)},0\n${meta}`;
}

/** A persistconn request splunkd would send a REST handler, lacking its parameters: refused without a call. */
async function incompleteRestRequest(): Promise<string> {
  const { requestPacket } = await import('../../src/hunt/persistconn.js');
  return requestPacket(['x'], JSON.stringify({ method: 'POST', rest_path: '/defender_xdr/hunt', form: [], session: { user: 'u', authtoken: 'not-used' }, system_authtoken: 'not-used', server: { rest_uri: 'https://127.0.0.1:9' } })).toString('latin1');
}

/** What a launcher prints on Linux for the same standard input: the Windows output must equal it. */
function linuxRun(name: string, stdin: string): string {
  const r = spawnSync('/bin/sh', [path.join(APP_DIR, 'bin', `${name}.sh`)], { input: Buffer.from(stdin, 'latin1'), encoding: 'latin1', env: { PATH: process.env.PATH ?? '' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A Splunk home under C:\Program Files\Splunk Übung (x86) …\ with the package extracted into etc\apps. */
async function installApp(w: Wine, tgz: string): Promise<{ splunkHome: string; app: string }> {
  const splunkHome = freshFolder(w, ...SPLUNK_FOLDER);
  const apps = path.join(splunkHome, 'etc', 'apps');
  mkdirSync(apps, { recursive: true });
  await tar.x({ file: tgz, cwd: apps });
  return { splunkHome, app: path.join(apps, APP) };
}

/** What `bin/<scheme>.sh --scheme` prints on Linux with this machine's node: the Windows output must equal it. */
function linuxScheme(scheme: string): string {
  const r = spawnSync('/bin/sh', [path.join(APP_DIR, 'bin', `${scheme}.sh`), '--scheme'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A payload sendmodalert would write whose configuration fails validation, so nothing is contacted. */
function invalidActionPayload(action: string): string {
  return JSON.stringify({
    app: 'search', owner: 'admin', server_host: 'sh01', server_uri: 'https://127.0.0.1:9', session_key: 'not-used',
    sid: 'scheduler__admin__search__RMD5_at_1700000000_1', search_name: 'Defender triage', action,
    configuration: { account: 'prod', status: 'closed', severity: 'extreme' }, result: { id: 'da637' },
  });
}

/** Windows paths of a fresh folder's launcher: `bin\<name>.cmd`. */
const cmd = (w: Wine, app: string, name: string) => windowsPath(w, path.join(app, 'bin', `${name}.cmd`));

describe('Windows launchers under Wine', { skip: noWine }, () => {
  let w: Wine;
  /** The Windows package, extracted once; its bundled node.exe is what stand-ins hand runs to. */
  let windowsApp: { splunkHome: string; app: string };
  let realNodeFile: string;
  let realNode: string;
  const made: string[] = [];

  before(async () => {
    w = wine();
    if (noWindowsPackage) return;
    windowsApp = await installApp(w, WINDOWS_TGZ);
    made.push(windowsApp.splunkHome);
    realNodeFile = path.join(windowsApp.app, 'windows_x86_64', 'bin', 'node.exe');
    realNode = windowsPath(w, realNodeFile);
  });
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  /** Every bin\*.cmd of the app is an input or an alert action, and each one answers as it should. */
  async function everyLauncher(app: string, env: Record<string, string>, pathDirs: string[] = []): Promise<void> {
    const launchers = readdirSync(path.join(app, 'bin')).filter((f) => f.endsWith('.cmd')).map((f) => f.slice(0, -4)).sort();
    assert.deepEqual(launchers, [...INPUTS, ...ACTIONS, ...COMMANDS, ...HANDLERS].sort());
    for (const command of COMMANDS) {
      const r = await runWindows(w, cmd(w, app, command), [], { stdin: getinfoChunk(), env, path: pathDirs });
      assert.equal(r.code, 0, `${command}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /"type":"stateful","generating":true/, command);
      assert.equal(r.stdout, linuxRun(command, getinfoChunk()), `${command}: the getinfo reply differs from the Linux launcher's`);
    }
    const request = await incompleteRestRequest();
    for (const handler of HANDLERS) {
      const r = await runWindows(w, cmd(w, app, handler), [], { stdin: request, env, path: pathDirs });
      assert.equal(r.code, 0, `${handler}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /"status":400.*account and query are required/, handler);
      assert.equal(r.stdout, linuxRun(handler, request), `${handler}: the reply differs from the Linux launcher's`);
    }
    for (const scheme of INPUTS) {
      const r = await runWindows(w, cmd(w, app, scheme), ['--scheme'], { env, path: pathDirs });
      assert.equal(r.code, 0, `${scheme}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr, '', scheme);
      assert.equal(r.stdout, linuxScheme(scheme), `${scheme}: the scheme differs from the Linux launcher's`);
    }
    for (const action of ACTIONS) {
      const r = await runWindows(w, cmd(w, app, action), ['--execute'], { stdin: invalidActionPayload(action), env, path: pathDirs });
      assert.equal(r.code, 1, `${action}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^ERROR ${action}( failed: ${action})?: invalid configuration, nothing was sent to (Microsoft Graph|Defender)\\.`, 'm'));
      const linux = spawnSync('/bin/sh', [path.join(APP_DIR, 'bin', `${action}.sh`), '--execute'], { input: invalidActionPayload(action), encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
      assert.equal(linux.status, 1, linux.stderr);
      const timeless = (text: string) => text.replace(/ duration_ms=\d+/g, '');
      assert.equal(timeless(r.stderr), timeless(linux.stderr), `${action}: the refusal differs from the Linux launcher's`);
    }
  }

  test('the Windows package: every input answers --scheme and every alert action refuses a bad payload, on the bundled node.exe', { skip: noWindowsPackage }, async () => {
    const { splunkHome, app } = windowsApp;
    // Where MinGW can build them, every later place holds a node that would be taken and would
    // record being run: none may be.
    const log = path.join(splunkHome, 'runs.log');
    const env: Record<string, string> = { SPLUNK_HOME: windowsPath(w, splunkHome) };
    const onPath = path.join(splunkHome, 'nodejs');
    if (!noMingw) {
      const fitting = { version: 'v22.23.3', log, node: realNode };
      env.TA_DEFENDER_XDR_NODE = placeStandIn(w, path.join(splunkHome, 'env node', 'node.exe'), fitting);
      placeStandIn(w, path.join(splunkHome, 'bin', 'node.exe'), fitting);
      placeStandIn(w, path.join(onPath, 'node.exe'), fitting);
    }
    await everyLauncher(app, env, [windowsPath(w, onPath)]);
    assert.deepEqual(standInRuns(log), []);
  });

  test('the generic package: every launcher on the node.exe found on PATH', { skip: noWindowsPackage }, async () => {
    const { splunkHome, app } = await installApp(w, GENERIC_TGZ);
    made.push(splunkHome);
    // The generic package carries no runtime (windows_x86_64/bin holds only defenderhunt.path).
    assert.ok(!existsSync(path.join(app, 'windows_x86_64', 'bin', 'node.exe')));
    const nodejs = path.join(splunkHome, 'nodejs');
    mkdirSync(nodejs);
    linkSync(realNodeFile, path.join(nodejs, 'node.exe')); // a copy, without copying 87 MB
    await everyLauncher(app, {}, [windowsPath(w, nodejs)]);
  });
  /** The places the launcher looks, in its order, and what each holds in one arrangement. */
  type Place = 'bundled' | 'node_path' | 'env' | 'splunk' | 'path';
  const PLACES: Place[] = ['bundled', 'node_path', 'env', 'splunk', 'path'];
  /**
   * fits: Node 22 that runs the real node.exe; refusing: the same, but its V8 refuses --liftoff-only;
   * old: Node 18; old-refusing: Node 18 refusing the flag too; missing: named but absent.
   */
  type Kind = 'fits' | 'refusing' | 'old' | 'old-refusing' | 'missing';
  const UNFIT: Kind[] = ['old', 'missing', 'old-refusing'];

  interface Arranged {
    app: string;
    log: string;
    env: Record<string, string>;
    pathDirs: string[];
    /** Windows path of the node.exe at each place. */
    at: Record<Place, string>;
    /** Windows path of the node.exe default's node_path names. */
    defaultNodePath?: string;
  }

  /**
   * node_path targets live under C:\Program Files (x86)\ (ASCII): cmd reads the UTF-8 conf file in the
   * console's code page, so a non-ASCII node_path is not found (docs/windows.md says so).
   */
  function asciiFolder(name: string): string {
    const dir = freshFolder(w, 'Program Files (x86)', name);
    made.push(dir);
    return dir;
  }

  /**
   * The generic package under C:\Program Files\Splunk Übung (x86) …\etc\apps with a stand-in at each
   * place named in `kinds`. node_path is set in local\ (a value with spaces and parentheses, an
   * indented key, trailing blanks, a line of blanks, CRLF lines, as an admin's editor may leave
   * it); `defaultNodePath` also sets default's.
   */
  async function arrange(kinds: Partial<Record<Place, Kind>>, defaultNodePath?: Kind): Promise<Arranged> {
    const { splunkHome, app } = await installApp(w, GENERIC_TGZ);
    made.push(splunkHome);
    const log = path.join(splunkHome, 'runs.log');
    const files: Record<Place, string> = {
      bundled: path.join(app, 'windows_x86_64', 'bin', 'node.exe'),
      node_path: path.join(asciiFolder('nodejs 22 local'), 'node.exe'),
      env: path.join(splunkHome, 'env node', 'node.exe'),
      splunk: path.join(splunkHome, 'bin', 'node.exe'),
      path: path.join(splunkHome, 'nodejs', 'node.exe'),
    };
    const at = Object.fromEntries(PLACES.map((p) => [p, windowsPath(w, files[p])])) as Record<Place, string>;
    const put = (file: string, kind: Kind) => {
      if (kind === 'missing') return;
      // A node too old must never run: it has a real node behind it only so that the log shows it if it did.
      placeStandIn(w, file, { version: kind.startsWith('old') ? 'v18.20.4' : 'v22.23.3', refuse: kind.endsWith('refusing') ? '--liftoff-only' : undefined, log, node: realNode });
    };
    const env: Record<string, string> = {};
    const pathDirs: string[] = [];
    for (const place of PLACES) {
      const kind = kinds[place];
      if (!kind) continue;
      put(files[place], kind);
      if (place === 'node_path') {
        mkdirSync(path.join(app, 'local'), { recursive: true });
        writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), `[logging]\r\nloglevel = DEBUG\r\n   \r\n[runtime]\r\n\tnode_path = ${at.node_path}  \r\n`);
      }
      if (place === 'env') env.TA_DEFENDER_XDR_NODE = at.env;
      if (place === 'splunk') env.SPLUNK_HOME = windowsPath(w, splunkHome);
      if (place === 'path') pathDirs.push(windowsPath(w, path.dirname(files.path)));
    }
    let defaultNode: string | undefined;
    if (defaultNodePath) {
      const file = path.join(asciiFolder('nodejs 22 default'), 'node.exe');
      put(file, defaultNodePath);
      defaultNode = windowsPath(w, file);
      const conf = path.join(app, 'default', 'defender_xdr_settings.conf');
      writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^node_path =.*$/m, `node_path = ${defaultNode}`));
    }
    return { app, log, env, pathDirs, at, defaultNodePath: defaultNode };
  }

  function scheme(a: Arranged) {
    return runWindows(w, cmd(w, a.app, 'defender_xdr_alerts'), ['--scheme'], { env: a.env, path: a.pathDirs });
  }

  /** The node.exe that ran the input (stand-ins record runs, not --version probes) and with which arguments. */
  async function ranOn(a: Arranged, node: string, flags = `${V8_FLAGS} `): Promise<void> {
    const r = await scheme(a);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, linuxScheme('defender_xdr_alerts'));
    const entry = windowsPath(w, path.join(a.app, 'bin', 'defender_xdr_alerts.js'));
    assert.deepEqual(standInRuns(a.log), [{ node, args: `${flags}"${entry}" --scheme` }]);
  }

  const standIns = noWindowsPackage ?? noMingw;

  test('each place is taken when those before it hold no fitting Node.js (too old, refusing the flags too, or named but missing)', { skip: standIns }, async () => {
    for (const [i, place] of PLACES.entries()) {
      // The place taken and those after it hold Node 22; at every other place its V8 refuses a flag,
      // and it then runs without the flags.
      const taken: Kind = i % 2 ? 'refusing' : 'fits';
      const kinds = Object.fromEntries(PLACES.map((p, j) => [p, j < i ? UNFIT[j % UNFIT.length]! : taken])) as Record<Place, Kind>;
      const a = await arrange(kinds, taken);
      await ranOn(a, a.at[place], taken === 'refusing' ? '' : undefined);
    }
  });

  test('a Node.js whose V8 refuses one of the flags runs without them', { skip: standIns }, async () => {
    const a = await arrange({ splunk: 'refusing', path: 'fits' });
    await ranOn(a, a.at.splunk, '');
  });

  test("node_path: local's value replaces default's, which is used when local sets none", { skip: standIns }, async () => {
    // local\ too old: default\'s is not tried (Splunk's merged value is local's), the next place is.
    const replaced = await arrange({ node_path: 'old', env: 'fits' }, 'fits');
    await ranOn(replaced, replaced.at.env);
    // local\ has the file but no node_path in [runtime] (one in another stanza does not count).
    const fromDefault = await arrange({ env: 'fits' }, 'fits');
    mkdirSync(path.join(fromDefault.app, 'local'));
    writeFileSync(path.join(fromDefault.app, 'local', 'defender_xdr_settings.conf'), `[proxy]\r\nnode_path = ${fromDefault.at.env}\r\n[runtime]\r\nnode_path =\r\n`);
    await ranOn(fromDefault, fromDefault.defaultNodePath!);
  });

  test('no fitting Node.js anywhere: one ERROR line, which splunkd files under ERROR in splunkd.log (index=_internal)', { skip: standIns }, async () => {
    const a = await arrange({ bundled: 'old', node_path: 'missing', env: 'old-refusing', splunk: 'missing', path: 'old' }, 'old');
    const r = await scheme(a);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    // ExecProcessor makes one splunkd.log line of each stderr line; its leading word sets the level.
    assert.equal(r.stderr, 'ERROR defender_xdr_alerts: no Node.js 20 or later found. Install the platform package of the add-on (with its bundled runtime), or set [runtime] node_path in defender_xdr_settings.conf, or install Node.js 20+ on this host.\r\n');
    assert.deepEqual(standInRuns(a.log), []);
  });
  test('--validate-arguments through the .cmd launcher reads the account from the splunkd stand-in over http', { skip: noWindowsPackage }, async (t) => {
    // splunkd's own REST port is loopback; the stand-in serves it over http (Wine's TLS is not exercised here).
    const s = await startStandIns();
    t.after(() => s.stop());
    provisionAccount(s, 'prod');
    const { app } = windowsApp;
    const validate = async (account: string) => {
      const asked = s.splunkd.requests.length;
      const r = await runWindows(w, cmd(w, app, 'defender_xdr_alerts'), ['--validate-arguments'], { stdin: validateConfigXml(s, 'in1', { account, interval: '300' }) });
      // The answer came from the stand-in, over Wine's loopback networking, with the session key.
      assert.ok(s.splunkd.requests.slice(asked).some((q) => q.authorized && q.path.includes('defender_xdr_account')), JSON.stringify(r));
      return r;
    };
    const good = await validate('prod');
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.equal(good.stdout, '');
    const ghost = await validate('ghost');
    assert.equal(ghost.code, 1);
    assert.match(new XMLParser().parse(ghost.stdout).error?.message as string, /Account \(account\): "ghost" does not exist/);
  });
});
