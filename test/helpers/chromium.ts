/**
 * TEST TOOL — the one place that chooses and launches the Chromium every browser test drives
 * (the configuration page, the dashboard previews). Nothing is downloaded: playwright-core never
 * fetches a browser, and neither does this. The choice, first match wins:
 *   1. `CHROMIUM_PATH`, when set (it must exist);
 *   2. Debian's `/usr/bin/chromium`, when installed;
 *   3. the Chromium inside the dev dependency `@sparticuz/chromium` (a headless-shell build the
 *      package ships brotli-compressed), unpacked once per package version under
 *      node_modules/.cache/, so `npm ci && npm test` needs nothing beyond Node.js.
 * docs/development-browser-tests.md says why.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT } from '../../tools/harness.js';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
export const PACKAGED_CHROMIUM_CACHE = path.join(ROOT, 'node_modules', '.cache', 'sparticuz-chromium');

export interface ChosenChromium {
  executablePath: string;
  /** Where it came from, for messages: `CHROMIUM_PATH`, `Debian` or `@sparticuz/chromium <version>`. */
  origin: string;
}

export interface ChromiumChoiceOptions {
  env?: NodeJS.ProcessEnv;
  debianPath?: string;
  /** Unpacks the packaged Chromium and returns its executable (default: unpackPackagedChromium). */
  unpackPackaged?: () => Promise<string>;
}

export async function chooseChromium(options: ChromiumChoiceOptions = {}): Promise<ChosenChromium> {
  const override = (options.env ?? process.env).CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) {
      throw new Error(`CHROMIUM_PATH=${override} does not exist; unset it to use ${DEBIAN_CHROMIUM} or, without that, the Chromium of @sparticuz/chromium`);
    }
    return { executablePath: override, origin: 'CHROMIUM_PATH' };
  }
  const debian = options.debianPath ?? DEBIAN_CHROMIUM;
  if (existsSync(debian)) return { executablePath: debian, origin: 'Debian' };
  const executablePath = await (options.unpackPackaged ?? (() => unpackPackagedChromium()))();
  return { executablePath, origin: `@sparticuz/chromium ${packagedVersion()}` };
}

const packagedDir = () => path.resolve(path.dirname(fileURLToPath(import.meta.resolve('@sparticuz/chromium'))), '..', '..');
const packagedVersion = () => (JSON.parse(readFileSync(path.join(packagedDir(), 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The packaged Chromium's executable, unpacked into `<cacheRoot>/<version>/` on first use (about
 * 200 MB, a few seconds). The package's own `executablePath()` does the unpacking, but into
 * os.tmpdir() itself, reusing any `chromium` already there whatever its version, and a second
 * process starting meanwhile would take a half-written file. So it runs in a child whose TMPDIR is a
 * fresh staging folder, renamed into place once complete: concurrent test files get one whole copy.
 */
export async function unpackPackagedChromium(cacheRoot = PACKAGED_CHROMIUM_CACHE): Promise<string> {
  const target = path.join(cacheRoot, packagedVersion());
  const executable = path.join(target, 'chromium');
  if (existsSync(executable)) return executable;
  mkdirSync(cacheRoot, { recursive: true });
  const staging = mkdtempSync(`${target}.unpacking-`);
  try {
    const script = `const { default: c } = await import(${JSON.stringify(import.meta.resolve('@sparticuz/chromium'))}); process.stdout.write(await c.executablePath());`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: staging } });
    if (stdout !== path.join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${stdout}, not into ${staging}`);
    try {
      renameSync(staging, target);
    } catch (error) {
      if (!existsSync(executable)) throw error; // else another process put its complete copy there first
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return executable;
}

let chosen: Promise<ChosenChromium> | undefined;

/** Flags for headless runs on a machine without network beyond loopback (see the docs page). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A headless Chromium with its own profile folder. The same flags and locale whichever Chromium was
 * chosen: not the package's `args`, which are for AWS Lambda (`--single-process`,
 * `--disable-web-security`, …) and would change what the pages under test do.
 */
export async function launchChromium(profile: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  chosen ??= chooseChromium();
  const { executablePath, origin } = await chosen;
  try {
    return await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      // A stated locale, not the environment's: under LANG=C.UTF-8 (a container's usual) the
      // packaged headless shell reports navigator.language "en-US@posix", which Intl rejects, so
      // uPlot's module-level `new Intl.NumberFormat(navigator.language)` throws while the dashboard
      // preview bundle loads.
      locale: 'en-US',
      viewport,
    });
  } catch (error) {
    throw new Error(`Chromium (${origin}, ${executablePath}) did not start: ${(error as Error).message}`);
  }
}
