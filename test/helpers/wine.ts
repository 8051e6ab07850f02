/**
 * Runs the Windows launchers (bin\*.cmd) and Windows programs under Wine (Debian's wine64), for
 * test/e2e/windows-launchers.test.ts. What Wine needs here (shared/reference/splunk.md): a private
 * prefix reporting Windows 10 (node.exe 22 refuses older), WINEDEBUG=-all, and stdout/stderr as
 * files (node.exe fails with EBADF on a Linux pipe).
 *
 * The prefix is made once and kept in the temp folder, marked ready only when complete; a lock
 * folder keeps two test processes from making it at once. Later runs (CI runs on the same machine
 * once) reuse it: creating it costs ~10 s, a run of a launcher ~1 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HELPERS = path.dirname(fileURLToPath(import.meta.url));

/** Why the Wine tests cannot run here, or undefined when they can. */
export function wineMissing(): string | undefined {
  const r = spawnSync('wine', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'Wine is not installed (Debian: apt-get install wine64; .ci/run installs it)';
  return undefined;
}

/** Why stand-in node.exe programs cannot be built here (MinGW-w64 missing), or undefined. */
export function mingwMissing(): string | undefined {
  const r = spawnSync('x86_64-w64-mingw32-gcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'MinGW-w64 is not installed to build the stand-in node.exe (Debian: apt-get install gcc-mingw-w64-x86-64-win32; .ci/run installs it)';
  return undefined;
}

export interface Wine {
  prefix: string;
  /** The Unix folder behind C:\. */
  driveC: string;
}

export interface WineRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function baseEnv(prefix: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // No Mono or Gecko installer prompts: nothing here needs .NET or a browser engine.
    WINEDLLOVERRIDES: 'mscoree=;mshtml=',
    // Unix file names and environment values are UTF-8: Wine converts them to Windows' UTF-16 with it.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
  };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The shared Wine prefix, made on first use (~10 s) and reused by later test processes and runs. */
export function wine(): Wine {
  const version = spawnSync('wine', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const prefix = path.join(tmpdir(), `ta-defender-xdr-wine-${process.getuid?.() ?? 0}`);
  const ready = path.join(prefix, 'ta-defender-xdr-ready');
  const lock = `${prefix}.lock`;
  const isReady = () => existsSync(ready) && readFileSync(ready, 'utf8') === version;
  for (let waited = 0; !isReady(); ) {
    try {
      mkdirSync(lock);
    } catch {
      // Another process makes it; a lock older than 5 minutes was left by a killed one.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if ((waited += 500) > 600_000) throw new Error(`Wine prefix ${prefix}: still locked by ${lock} after 10 minutes`);
      sleep(500);
      continue;
    }
    try {
      if (!isReady()) {
        rmSync(prefix, { recursive: true, force: true });
        const env = baseEnv(prefix);
        const boot = spawnSync('wineboot', ['-i'], { env, encoding: 'utf8' });
        if (boot.status !== 0) throw new Error(`wineboot -i failed (${boot.status}): ${boot.stderr}`);
        // node.exe 22 starts only on Windows 8.1 or later; Wine reports Windows 7 by default.
        const reg = spawnSync('wine', ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env, encoding: 'utf8' });
        if (reg.status !== 0) throw new Error(`wine reg add failed (${reg.status}): ${reg.stderr}`);
        // The registry is written to disk when the server exits.
        spawnSync('wineserver', ['-w'], { env });
        writeFileSync(ready, version);
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return { prefix, driveC: path.join(prefix, 'drive_c') };
}

/** C:\… for a Unix path under the prefix's drive_c. */
export function windowsPath(w: Wine, unixPath: string): string {
  const relative = path.relative(w.driveC, unixPath);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${unixPath} is not under ${w.driveC}`);
  return `C:\\${relative.split(path.sep).join('\\')}`;
}

/** A fresh folder under C:\ (removed with `cleanup`), e.g. fresh(w, 'Program Files', 'Splunk Ü'). */
export function freshFolder(w: Wine, ...parts: string[]): string {
  const parent = path.join(w.driveC, ...parts.slice(0, -1));
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(path.join(parent, `${parts.at(-1)} `));
  return dir;
}

/**
 * Runs a Windows program (a .cmd through Windows' own rule: cmd /c) as splunkd would start it:
 * stdin from a file, stdout and stderr to files (node.exe under Wine cannot write to a pipe).
 * `env` adds Windows environment variables; `path` lists folders Windows' PATH gains (WINEPATH).
 * Asynchronous, so stand-ins served by this process can answer the program.
 *
 * Once in about 200 runs on a loaded machine (the first run of its test process), Wine ended the
 * launcher with exit code 1 and no output at all; 50 runs, cold and warm, did not repeat it. The
 * launcher and node.exe say why they fail, so such a run is Wine's: it is retried once, and said.
 */
export async function runWindows(w: Wine, program: string, args: string[], opts: { stdin?: string; env?: Record<string, string>; path?: string[] } = {}): Promise<WineRun> {
  const first = await runWindowsOnce(w, program, args, opts);
  if (first.code === 0) return first;
  const why = !first.stdout && !first.stderr ? 'no output' : wineStartFailure(first);
  if (!why) return first;
  console.log(`# Wine ended ${program} ${args.join(' ')} with exit code ${first.code} and ${why}; running it again`);
  return runWindowsOnce(w, program, args, opts);
}

/**
 * Wine failing to start a node.exe that is there, seen under load in CI (1 run in 4, both in one
 * run, each launcher passing alone 7/7): cmd's "Can't recognize" for the launcher's final command
 * line, or the launcher finding no Node.js because every probe of a fitting node.exe failed. A
 * launcher fault repeats on the retry; Wine's did not.
 */
function wineStartFailure(run: WineRun): string | undefined {
  const text = run.stdout + run.stderr;
  if (/Can't recognize '.*node\.exe/.test(text)) return 'cmd could not start node.exe';
  if (/no Node\.js 20 or later found/.test(text)) return 'no Node.js found';
  return undefined;
}

async function runWindowsOnce(w: Wine, program: string, args: string[], opts: { stdin?: string; env?: Record<string, string>; path?: string[] }): Promise<WineRun> {
  const io = mkdtempSync(path.join(tmpdir(), 'wine-run-'));
  const files = ['stdin', 'stdout', 'stderr'].map((name) => path.join(io, name));
  writeFileSync(files[0]!, opts.stdin ?? '');
  const fds = [openSync(files[0]!, 'r'), openSync(files[1]!, 'w'), openSync(files[2]!, 'w')];
  try {
    const env: Record<string, string> = { ...baseEnv(w.prefix), ...opts.env };
    if (opts.path?.length) env.WINEPATH = opts.path.join(';');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('wine', [program, ...args], { env, stdio: fds, timeout: 120_000 });
      child.on('error', reject);
      child.on('close', (status) => resolve(status));
    });
    const run = { code, stdout: readFileSync(files[1]!, 'utf8'), stderr: readFileSync(files[2]!, 'utf8') };
    // Kept with every input's output for CI's scan for test secrets (tools/harness.ts does the same).
    if (process.env.TA_TEST_OUTPUT_LOG) appendFileSync(process.env.TA_TEST_OUTPUT_LOG, `${run.stdout}\n${run.stderr}\n`);
    return run;
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(io, { recursive: true, force: true });
  }
}

/** What a stand-in node.exe (test/helpers/wine/node-standin.c) claims and does; see that file. */
export interface StandIn {
  /** What `--version` prints. */
  version: string;
  /** An option it refuses as an unknown V8 flag. */
  refuse?: string;
  /** Unix path of the file a run appends `<its path>|<its arguments>` to. */
  log?: string;
  /** Windows path of the real node.exe a run hands its command line to. */
  node?: string;
}

let standInExe: string | undefined;

/** Builds the stand-in node.exe once per process with MinGW-w64 (~1 s); returns its Unix path. */
function standInProgram(): string {
  if (standInExe) return standInExe;
  const dir = mkdtempSync(path.join(tmpdir(), 'node-standin-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'node.exe');
  const r = spawnSync('x86_64-w64-mingw32-gcc', ['-municode', '-O2', '-s', '-Wall', '-Werror', '-o', out, path.join(HELPERS, 'wine', 'node-standin.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the stand-in node.exe failed: ${r.stderr}`);
  return (standInExe = out);
}

/** Puts a stand-in node.exe at `file` (Unix path), with its settings (standin.ini) beside it. */
export function placeStandIn(w: Wine, file: string, standIn: StandIn): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, readFileSync(standInProgram()));
  const lines = [`version=${standIn.version}`];
  if (standIn.refuse) lines.push(`refuse=${standIn.refuse}`);
  if (standIn.log) lines.push(`log=${windowsPath(w, standIn.log)}`);
  if (standIn.node) lines.push(`node=${standIn.node}`);
  writeFileSync(path.join(path.dirname(file), 'standin.ini'), `${lines.join('\n')}\n`);
  return windowsPath(w, file);
}

/** The runs a stand-in log recorded: which node.exe (Windows path) ran with which arguments. */
export function standInRuns(log: string): { node: string; args: string }[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/).filter(Boolean).map((line) => {
    const [node, args] = line.split('|') as [string, string];
    return { node, args };
  });
}
