// Builds the Splunk app into dist/TA-defender-xdr/ and packages dist/TA-defender-xdr-<version>.tgz.
// Run with tsx (npm run build) so the input definitions can be read from src/ directly.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import * as tar from 'tar';
import { INPUTS } from './src/inputs/catalog.ts';
import { inputsSpec } from './src/splunk/scheme.ts';

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

function shLauncher(scheme) {
  return `#!/bin/sh
# Starts the ${scheme} modular input under Node.js (splunkd runs this file on Linux and macOS).
# Node is looked for in this order: $TA_DEFENDER_XDR_NODE, a runtime bundled in the app
# (runtime/<os>-<arch>/bin/node), Splunk's own node (Splunk Enterprise before 10.2), node on PATH.
BIN_DIR=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
APP_DIR=$(dirname -- "$BIN_DIR")
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLATFORM=linux-x64 ;;
  Linux-aarch64|Linux-arm64) PLATFORM=linux-arm64 ;;
  Darwin-arm64) PLATFORM=darwin-arm64 ;;
  Darwin-x86_64) PLATFORM=darwin-x64 ;;
  *) PLATFORM=unknown ;;
esac
for NODE in "$TA_DEFENDER_XDR_NODE" "$APP_DIR/runtime/$PLATFORM/bin/node" "\${SPLUNK_HOME:+$SPLUNK_HOME/bin/node}" "$(command -v node 2>/dev/null)"; do
  if [ -n "$NODE" ] && [ -x "$NODE" ] && "$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
    exec "$NODE" "$BIN_DIR/${scheme}.js" "$@"
  fi
done
echo "ERROR ${scheme}: no Node.js 20 or later found. Install Node.js 20+ on this host, or set TA_DEFENDER_XDR_NODE to its path in splunk-launch.conf." >&2
exit 1
`;
}

function cmdLauncher(scheme) {
  return [
    '@echo off',
    `rem Starts the ${scheme} modular input under Node.js (splunkd runs this file on Windows).`,
    'rem Node 20+ is looked for in this order: TA_DEFENDER_XDR_NODE, runtime\\win-x64 in the app, Splunk\'s own node.exe, node.exe on PATH.',
    'setlocal',
    'set "NODE_EXE="',
    'call :try "%TA_DEFENDER_XDR_NODE%"',
    'call :try "%~dp0..\\runtime\\win-x64\\node.exe"',
    'if defined SPLUNK_HOME call :try "%SPLUNK_HOME%\\bin\\node.exe"',
    'for %%N in (node.exe) do call :try "%%~$PATH:N"',
    `if not defined NODE_EXE (echo ERROR ${scheme}: no Node.js 20 or later found. Install it, or set TA_DEFENDER_XDR_NODE in splunk-launch.conf. 1>&2 & exit /b 1)`,
    `"%NODE_EXE%" "%~dp0${scheme}.js" %*`,
    'exit /b %ERRORLEVEL%',
    '',
    'rem Accepts a candidate only if it exists and is Node.js 20 or later.',
    ':try',
    'if defined NODE_EXE exit /b 0',
    'if "%~1"=="" exit /b 0',
    'if not exist "%~1" exit /b 0',
    '"%~1" -e "process.exit(Number(process.versions.node.split(\'.\')[0]) >= 20 ? 0 : 1)" >nul 2>&1 && set "NODE_EXE=%~1"',
    'exit /b 0',
    '',
  ].join('\r\n');
}

async function bundle() {
  const result = await esbuild.build({
    entryPoints: Object.fromEntries(INPUTS.map((d) => [d.scheme, path.join(root, 'src/inputs', `${d.scheme}.ts`)])),
    outdir: path.join(appDir, 'bin'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // splunk-sdk's index loads dotenv, which would read a .env from splunkd's working directory.
    alias: { dotenv: path.join(root, 'src/build/empty-dotenv.cjs') },
    // tsconfig's strict implies "use strict" at the top of the bundle, which would also apply to
    // splunk-sdk's pre-ES5 class helper (it reads arguments.callee). Types stay strict in tsc.
    tsconfigRaw: { compilerOptions: { alwaysStrict: false } },
    legalComments: 'none',
    // Smaller app, same stack traces: whitespace and syntax only, names kept.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(path.join(dist, 'metafile.json'), JSON.stringify(result.metafile));
}

function copyStatic() {
  for (const entry of ['default', 'README', 'metadata', 'lookups', 'app.manifest', 'LICENSE']) {
    const from = path.join(root, entry);
    if (existsSync(from)) cpSync(from, path.join(appDir, entry), { recursive: true });
  }
  writeFileSync(path.join(appDir, 'README', 'inputs.conf.spec'), inputsSpec(INPUTS));
  for (const { scheme } of INPUTS) {
    writeFileSync(path.join(appDir, 'bin', `${scheme}.sh`), shLauncher(scheme));
    writeFileSync(path.join(appDir, 'bin', `${scheme}.cmd`), cmdLauncher(scheme));
  }
}

/** Fixed modes and mtimes, sorted entries: the same commit gives the same bytes. */
function normalise(dir, files = []) {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const isDir = statSync(full).isDirectory();
    chmodSync(full, isDir || full.endsWith('.sh') ? 0o755 : 0o644);
    utimesSync(full, new Date(0), new Date(0));
    files.push(path.relative(dist, full));
    if (isDir) normalise(full, files);
  }
  return files;
}

async function packageApp() {
  const files = normalise(appDir);
  utimesSync(appDir, new Date(0), new Date(0));
  const file = path.join(dist, `${APP}-${pkg.version}.tgz`);
  await tar.c({ gzip: { level: 9 }, file, cwd: dist, portable: true, mtime: new Date(0), noDirRecurse: true }, [APP, ...files]);
  return file;
}

checkVersions();
rmSync(dist, { recursive: true, force: true });
mkdirSync(path.join(appDir, 'bin'), { recursive: true });
// The bundles are CommonJS (what a bare .js is on the forwarder); this keeps the repository's
// "type": "module" from applying to them when they run from dist/. It is not packaged.
writeFileSync(path.join(dist, 'package.json'), '{ "type": "commonjs" }\n');
await bundle();
copyStatic();
const file = await packageApp();
console.log(`built ${path.relative(root, appDir)} and ${path.relative(root, file)}`);
