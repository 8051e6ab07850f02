import { createHash } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

/** Where the compiled bundles are kept, per Splunk installation (never a shared /tmp). */
export function codeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.SPLUNK_HOME?.trim();
  return home ? path.join(home, 'var', 'run', 'TA-defender-xdr', 'code-cache') : undefined;
}

/**
 * The cache file for this bundle, this Node.js and these V8 flags. The bundle is known by what a
 * stat tells: size, mtime, and ctime and inode, which an install or any edit changes (mtime alone
 * would not do: the package's files all carry the same one). Hashing the 3 MB instead costs ~20 ms,
 * a tenth of a quiet poll. A cache of another bundle, Node or flag set is another file.
 */
export function cacheFileFor(dir: string, file: string, execArgv: readonly string[] = process.execArgv): string {
  const st = statSync(file, { bigint: true });
  const key = [st.size, st.mtimeNs, st.ctimeNs, st.ino, st.dev, process.version, process.arch, ...execArgv].join('\n');
  return path.join(dir, `${path.basename(file, '.js')}.${createHash('sha1').update(key).digest('hex').slice(0, 20)}.v8cache`);
}

export interface CachedModule<T> {
  exports: T;
  /** 'hit' when V8 took the cache; otherwise the cache is written once the process is done. */
  cache: 'hit' | 'miss' | 'rejected' | 'off';
}

/**
 * `require(file)` of a CommonJS bundle, compiled from V8's code cache when there is one. V8 then
 * skips parsing and compiling the functions the last run used (the collector bundle: 3 MB, ~70 ms
 * of CPU at every start). Without a usable cache (none yet, another bundle or Node, or V8 refused
 * it) the bundle is compiled as usual and the cache is written as the process exits, so it holds
 * every function the run compiled. Bytecode only: no value the run computed, so no secret, is in
 * it. Any failure of the cache falls back to compiling; the input itself never depends on it.
 */
export function requireCached<T>(file: string, dir: string | undefined): CachedModule<T> {
  if (!dir) return { exports: require(file) as T, cache: 'off' };
  const { script, cache, cacheFile } = compile(file, dir);
  const module = { exports: {} as T, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  if (cache !== 'hit' && cacheFile) {
    const target = cacheFile;
    process.once('exit', () => writeCache(dir, target, () => script.createCachedData()));
  }
  return { exports: module.exports, cache };
}

/**
 * The bundle compiled, from the cache when V8 takes it. Its own function so that the cache's
 * buffer (1.4 MB) is unreachable before the bundle runs: held through the bundle's evaluation, it
 * outlived two young-generation GCs and stayed in the old generation for the whole poll.
 */
function compile(file: string, dir: string): { script: Script; cache: CachedModule<unknown>['cache']; cacheFile?: string } {
  let cacheFile: string | undefined;
  let cachedData: Buffer | undefined;
  try {
    cacheFile = cacheFileFor(dir, file);
    cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet (or the bundle cannot be stat'ed: compiling below reports that)
  }
  const script = new Script(wrappedSource(file), { filename: file, cachedData });
  return { script, cache: !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit', cacheFile };
}

/**
 * The bundle inside CommonJS's function wrapper, as one string that lives outside V8's heap. V8
 * keeps a script's source for as long as its functions live (it compiles lazily from it), and
 * `Module.wrap(readFileSync(file, 'utf8'))` kept two 3 MB copies in the heap until a full GC, which
 * a quiet poll never reaches: the text read, and the wrapped text V8 flattened it into. Here the
 * wrapper and the file are read into one buffer, and an ASCII buffer over 1 MB becomes an external
 * string (Node copies it out of the buffer, which goes at the next young-generation GC). The
 * bundles are ASCII (esbuild escapes the rest); should one not be, it is decoded as UTF-8.
 */
function wrappedSource(file: string): string {
  const [head, tail] = Module.wrap('\u0000').split('\u0000');
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(head.length + size + tail.length);
    buffer.write(head, 0, 'latin1');
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, head.length + read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    buffer.write(tail, head.length + read, 'latin1');
    const used = buffer.subarray(0, head.length + read + tail.length);
    return isAscii(used) ? used.toString('latin1') : used.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A day: caches of a bundle, Node or flag set not written since then are removed (another input kind's live cache is kept). */
const STALE_MS = 86_400_000;

/** Written whole or not at all (temporary file, then rename), readable by this user only; stale caches of the bundle go. */
function writeCache(dir: string, cacheFile: string, data: () => Buffer): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(temporary, data(), { mode: 0o600 });
    renameSync(temporary, cacheFile);
    const prefix = path.basename(cacheFile).split('.')[0] + '.';
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith('.v8cache') || name === path.basename(cacheFile)) continue;
      const other = path.join(dir, name);
      if (Date.now() - statSync(other).mtimeMs > STALE_MS) unlinkSync(other);
    }
  } catch {
    // a read-only or full disk: the next run compiles again, as without a cache
  }
}
