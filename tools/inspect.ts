/**
 * Checks a built Splunk app the way Splunk AppInspect would for this kind of add-on (conf files,
 * specs, launchers, bundles, secrets, licenses, size), without needing AppInspect itself.
 *
 *   node --import tsx tools/inspect.ts [app.tgz | app folder]
 *
 * Default: dist/TA-defender-xdr-<package.json version>.tgz. Exits 1 with a numbered list of
 * failures, else prints an OK summary with the bundle and package sizes.
 */
import { existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, realpathSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import * as tar from 'tar';
import { allSpecKeys, parseConf, specKeyMatcher, type Conf } from './conf.js';
import { bundledPackages, type MetafileLike } from './notices.js';
import { FOREIGN_SPECS } from './foreignSpecs.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Splunk 9.2's own .spec files, beside the repository (/work/shared next to /work/main). */
const DEFAULT_SPEC_DIR = path.resolve(REPO_ROOT, '../shared/splunk-data/spec-9.2');
const MB = 1024 * 1024;
/** Splunk Cloud's limit for a private app package; over half of it is worth a warning. */
const TGZ_LIMIT = 128 * MB;
const TGZ_WARN = 64 * MB;

export interface InspectOptions {
  /** Folder of Splunk's .conf.spec files; default `<repo>/../shared/splunk-data/spec-9.2`. */
  splunkSpecDir?: string;
  /** esbuild's metafile of bin/*.js: each bundled package must be named by THIRD-PARTY-NOTICES.txt. */
  metafile?: MetafileLike;
  /** Size of the .tgz the folder came from, for the Splunk Cloud size limit. */
  tgzBytes?: number;
  /** Build-machine paths that must not appear in bin/*.js; default: the repo, cwd, home and /work/. */
  buildPaths?: string[];
}

export interface InspectResult {
  failures: string[];
  warnings: string[];
  report: Record<string, number | string>;
}

type BinaryKind = 'ELF' | 'PE' | 'Mach-O';

interface AppFile {
  /** Path relative to the app folder, with '/' separators. */
  rel: string;
  abs: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
}

/** What every check gets: the file list, cached readers and the result being filled in. */
class Context {
  readonly failures: string[] = [];
  readonly warnings: string[] = [];
  readonly report: Record<string, number | string> = {};
  readonly files: AppFile[];
  readonly binaryKinds = new Map<string, BinaryKind | undefined>();
  private readonly fileSet: Set<string>;
  private readonly texts = new Map<string, string>();
  private readonly confs = new Map<string, Conf>();
  private readonly specs = new Map<string, Conf | undefined>();

  constructor(
    readonly appDir: string,
    readonly options: InspectOptions,
    readonly specDir: string | undefined,
  ) {
    this.files = walk(appDir);
    this.fileSet = new Set(this.files.filter((f) => f.kind === 'file').map((f) => f.rel));
  }

  fail(rel: string, message: string): void {
    this.failures.push(`${rel}: ${message}`);
  }

  warn(rel: string, message: string): void {
    this.warnings.push(`${rel}: ${message}`);
  }

  has(rel: string): boolean {
    return this.fileSet.has(rel);
  }

  regularFiles(): AppFile[] {
    return this.files.filter((f) => f.kind === 'file');
  }

  text(rel: string): string {
    let text = this.texts.get(rel);
    if (text === undefined) {
      text = readFileSync(path.join(this.appDir, rel), 'utf8');
      this.texts.set(rel, text);
    }
    return text;
  }

  conf(rel: string): Conf | undefined {
    if (!this.has(rel)) return undefined;
    let conf = this.confs.get(rel);
    if (!conf) {
      conf = parseConf(this.text(rel));
      this.confs.set(rel, conf);
    }
    return conf;
  }

  splunkSpec(confFile: string): Conf | undefined {
    if (!this.specs.has(confFile)) {
      const file = this.specDir && path.join(this.specDir, `${confFile}.spec`);
      this.specs.set(confFile, file && existsSync(file) ? parseConf(readFileSync(file, 'utf8')) : undefined);
    }
    return this.specs.get(confFile);
  }
}

/** All entries under `dir`, sorted, without following symlinks. */
function walk(dir: string, base = ''): AppFile[] {
  const out: AppFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const abs = path.join(dir, name);
    const rel = base ? `${base}/${name}` : name;
    const stat = lstatSync(abs);
    const kind = stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'dir' : 'file';
    out.push({ rel, abs, kind, mode: stat.mode & 0o7777, size: kind === 'file' ? stat.size : 0 });
    if (kind === 'dir') out.push(...walk(abs, rel));
  }
  return out;
}

export function inspectApp(appDir: string, options: InspectOptions = {}): InspectResult {
  const specDir = options.splunkSpecDir ?? DEFAULT_SPEC_DIR;
  const ctx = new Context(path.resolve(appDir), options, existsSync(specDir) ? specDir : undefined);
  if (!ctx.specDir) ctx.warn('(inspect)', `Splunk spec folder ${specDir} not found: custom conf files and keys are checked against README/ only`);
  for (const check of CHECKS) check(ctx);
  return { failures: ctx.failures, warnings: ctx.warnings, report: ctx.report };
}

// ---------------------------------------------------------------------------------------------
// app.conf and app.manifest

function checkAppConf(ctx: Context): void {
  const app = ctx.conf('default/app.conf');
  if (!app) return ctx.fail('default/app.conf', 'missing');
  const get = (stanza: string, key: string): string | undefined => app.get(stanza)?.get(key);
  const id = get('package', 'id');
  const folder = path.basename(ctx.appDir);
  if (!id) ctx.fail('default/app.conf', '[package] id is missing');
  else {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) ctx.fail('default/app.conf', `[package] id "${id}" may only hold letters, digits, '.', '_' and '-'`);
    if (id !== folder) ctx.fail('default/app.conf', `[package] id "${id}" differs from the app folder name "${folder}"`);
    ctx.report['app id'] = id;
  }
  if (!/^[1-9]\d*$/.test(get('install', 'build') ?? '')) ctx.fail('default/app.conf', `[install] build must be a positive integer, is "${get('install', 'build') ?? ''}"`);
  if (get('install', 'is_configured') === 'true' || get('install', 'is_configured') === '1') ctx.warn('default/app.conf', '[install] is_configured = true: the app will skip its setup');
  const version = get('launcher', 'version');
  if (!version) ctx.fail('default/app.conf', '[launcher] version is missing');
  else if (!/^\d+\.\d+\.\d+$/.test(version)) ctx.fail('default/app.conf', `[launcher] version "${version}" is not Major.Minor.Patch`);
  else ctx.report['app version'] = version;
  if (!get('launcher', 'description')) ctx.fail('default/app.conf', '[launcher] description is missing');
  if (!get('launcher', 'author')) ctx.warn('default/app.conf', '[launcher] author is missing');
  if (get('package', 'check_for_updates') === undefined) ctx.fail('default/app.conf', '[package] check_for_updates is not set');
  // [id] is optional, but when present splunkd and AppInspect expect it to agree with the rest.
  const idName = get('id', 'name');
  if (idName !== undefined && idName !== id) ctx.fail('default/app.conf', `[id] name "${idName}" differs from [package] id "${id ?? ''}"`);
  const idVersion = get('id', 'version');
  if (idVersion !== undefined && idVersion !== version) ctx.fail('default/app.conf', `[id] version "${idVersion}" differs from [launcher] version "${version ?? ''}"`);
  if (!get('ui', 'label')) ctx.warn('default/app.conf', '[ui] label is missing');
}

interface Manifest {
  schemaVersion?: unknown;
  info?: { title?: unknown; id?: { name?: unknown; version?: unknown }; license?: { text?: unknown } };
}

function checkManifest(ctx: Context): void {
  if (!ctx.has('app.manifest')) return ctx.fail('app.manifest', 'missing');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(ctx.text('app.manifest')) as Manifest;
  } catch (error) {
    return ctx.fail('app.manifest', `not valid JSON (${(error as Error).message})`);
  }
  if (!manifest || typeof manifest !== 'object') return ctx.fail('app.manifest', 'not a JSON object');
  const app = ctx.conf('default/app.conf');
  const id = app?.get('package')?.get('id');
  const version = app?.get('launcher')?.get('version');
  const label = app?.get('ui')?.get('label');
  const info = manifest.info ?? {};
  if (manifest.schemaVersion !== '2.0.0') ctx.fail('app.manifest', `schemaVersion is ${JSON.stringify(manifest.schemaVersion)}, expected "2.0.0"`);
  if (info.id?.name !== id) ctx.fail('app.manifest', `info.id.name ${JSON.stringify(info.id?.name)} differs from app.conf [package] id "${id ?? ''}"`);
  if (info.id?.version !== version) ctx.fail('app.manifest', `info.id.version ${JSON.stringify(info.id?.version)} differs from app.conf [launcher] version "${version ?? ''}"`);
  // AppInspect compares title and label loosely ("X Add-on" vs "X Add-on for Splunk"): warn only.
  const title = typeof info.title === 'string' ? info.title : '';
  if (label && !looselyEqual(title, label)) ctx.warn('app.manifest', `info.title "${title}" and app.conf [ui] label "${label}" differ`);
  const licenseText = info.license?.text;
  if (typeof licenseText !== 'string' || licenseText === '') ctx.fail('app.manifest', 'info.license.text names no license file');
  else if (!ctx.has(licenseText.replace(/^\.?\//, ''))) ctx.fail('app.manifest', `info.license.text "${licenseText}" does not exist in the app`);
}

function looselyEqual(a: string, b: string): boolean {
  const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
  const [x, y] = [norm(a), norm(b)];
  return x !== '' && y !== '' && (x.includes(y) || y.includes(x));
}

// ---------------------------------------------------------------------------------------------
// Files that must not be in a package

const BACKUP_FILE = /(~|\.bak|\.orig|\.swp|\.swo|\.tmp)$|^#.*#$/i;

function checkForbiddenFiles(ctx: Context): void {
  for (const file of ctx.files) {
    const segments = file.rel.split('/');
    const name = segments[segments.length - 1];
    const problem =
      file.rel === 'local' ? 'local/ folder (settings belong in default/)'
      : name === 'local.meta' ? 'local.meta (permissions belong in default.meta)'
      : name === 'passwords.conf' ? 'passwords.conf (credentials must not ship)'
      : name.startsWith('.') ? 'hidden file or folder'
      : BACKUP_FILE.test(name) ? 'backup or temporary file'
      : /\.py[co]$/.test(name) || name === '__pycache__' ? 'compiled Python file'
      : name.includes(' ') ? 'space in the file name'
      : name === 'node_modules' ? 'node_modules folder (dependencies belong in the bundles)'
      : file.kind === 'file' && name.endsWith('.map') ? 'source map (exposes the sources and build paths)'
      : undefined;
    if (problem) ctx.fail(file.rel, problem);
    if (file.kind === 'symlink') checkSymlink(ctx, file);
  }
}

/** A link out of the app breaks on install; one inside it is merely unusual. */
function checkSymlink(ctx: Context, file: AppFile): void {
  let target: string | undefined;
  try {
    target = realpathSync(file.abs);
  } catch {
    return ctx.fail(file.rel, 'symbolic link to a missing target');
  }
  const root = realpathSync(ctx.appDir);
  if (target !== root && !target.startsWith(root + path.sep)) ctx.fail(file.rel, 'symbolic link pointing outside the app');
  else ctx.warn(file.rel, 'symbolic link (Splunk Cloud vetting may reject it)');
}

// ---------------------------------------------------------------------------------------------
// Bundles, launchers and file modes

function checkBundles(ctx: Context): void {
  const paths = ctx.options.buildPaths ?? defaultBuildPaths();
  for (const file of ctx.regularFiles().filter((f) => /^(bin|appserver\/static)\/.+\.[cm]?js$/.test(f.rel))) {
    const text = ctx.text(file.rel);
    // Most specific first, one report per file: /work/main/ found means /work/ is found too.
    for (const p of [...paths].sort((a, b) => b.length - a.length)) {
      const at = text.indexOf(p);
      if (at < 0) continue;
      ctx.fail(file.rel, `contains the build-machine path "${p}" (${JSON.stringify(text.slice(Math.max(0, at - 20), at + p.length + 40))})`);
      break;
    }
    if (/^\/\/[#@] sourceMappingURL=/m.test(text)) ctx.fail(file.rel, 'references a source map (sourceMappingURL)');
  }
}

/**
 * The repository, the working directory and the home folder (only when at least two levels deep,
 * so /tmp or /root, which third-party code names legitimately, do not count), and /work/ where
 * this project is built.
 */
function defaultBuildPaths(): string[] {
  const deep = (p: string): boolean => p.split('/').filter(Boolean).length >= 2;
  const candidates = [REPO_ROOT, process.cwd(), homedir()].filter((p) => deep(p) && !p.startsWith(tmpdir()));
  return [...new Set([...candidates.map((p) => p.replace(/\/?$/, '/')), '/work/'])];
}

/** Where platform packages put the Node runtime (splunkd's per-architecture folders). */
const RUNTIME_NODE = /^(linux|darwin)_[^/]+\/bin\/node$/;

function checkModes(ctx: Context): void {
  if (process.platform === 'win32') return ctx.warn('(inspect)', 'file modes not checked on Windows');
  for (const file of ctx.regularFiles()) {
    const executable = (file.mode & 0o111) !== 0;
    const isLauncher = /^bin\/[^/]+\.sh$/.test(file.rel);
    const isRuntime = RUNTIME_NODE.test(file.rel);
    if (executable && !isLauncher && !isRuntime) ctx.fail(file.rel, `executable (mode ${file.mode.toString(8)}); only bin/*.sh and <arch>/bin/node may be`);
    if (!executable && (isLauncher || isRuntime)) ctx.fail(file.rel, `not executable (mode ${file.mode.toString(8)})`);
  }
}

function checkLaunchers(ctx: Context): void {
  for (const file of ctx.regularFiles()) {
    if (/^bin\/[^/]+\.sh$/.test(file.rel)) {
      const text = ctx.text(file.rel);
      if (!text.startsWith('#!')) ctx.fail(file.rel, 'does not start with #!');
      if (text.includes('\r')) ctx.fail(file.rel, 'has CR line endings (sh needs LF only)');
    } else if (/^bin\/[^/]+\.cmd$/.test(file.rel)) {
      if (/(^|[^\r])\n/.test(ctx.text(file.rel))) ctx.fail(file.rel, 'has LF line endings (cmd.exe needs CRLF)');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conf files and their specs

function defaultConfs(ctx: Context): string[] {
  return ctx.regularFiles()
    .map((f) => /^default\/([^/]+\.conf)$/.exec(f.rel)?.[1])
    .filter((name): name is string => name !== undefined);
}

/** splunkd ignores lines it cannot read; a line that is not a stanza, setting or comment is a typo. */
function checkConfSyntax(ctx: Context): void {
  for (const file of ctx.regularFiles().filter((f) => /\.(conf|meta)$/.test(f.rel))) {
    let lineNo = 0;
    let continued = false;
    for (const line of ctx.text(file.rel).split(/\r?\n/)) {
      lineNo++;
      const wasContinued = continued;
      continued = line.endsWith('\\');
      if (wasContinued) continue;
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#') || /^\[.*\]$/.test(trimmed) || line.indexOf('=') > 0) continue;
      ctx.fail(file.rel, `line ${lineNo} is neither a [stanza], a setting nor a comment: ${JSON.stringify(trimmed.slice(0, 60))}`);
    }
  }
}

/** Splunk's own conf files whose spec the reference data (spec-9.2) does not hold: not custom, no README spec. */
const SPLUNK_CONFS_WITHOUT_REFERENCE_SPEC = new Set(['authorize.conf', 'searchbnf.conf']);

function checkSpecs(ctx: Context): void {
  checkAlertActions(ctx);
  for (const file of defaultConfs(ctx)) {
    if (SPLUNK_CONFS_WITHOUT_REFERENCE_SPEC.has(file)) continue;
    if (!ctx.splunkSpec(file) && !ctx.has(`README/${file}.spec`)) ctx.fail(`default/${file}`, `custom conf file without README/${file}.spec`);
  }
  const inputs = ctx.conf('default/inputs.conf');
  if (!inputs) return;
  const ours = ctx.conf('README/inputs.conf.spec');
  for (const scheme of inputSchemes(ctx, inputs)) {
    if (![...(ours?.keys() ?? [])].some((s) => s.startsWith(`${scheme}://`))) {
      ctx.fail('README/inputs.conf.spec', `no [${scheme}://<name>] stanza for the input scheme ${scheme} of default/inputs.conf`);
    }
    for (const ext of ['sh', 'cmd']) if (!ctx.has(`bin/${scheme}.${ext}`)) ctx.fail(`bin/${scheme}.${ext}`, `missing launcher of the input scheme ${scheme}`);
  }
}

/**
 * Custom alert actions (is_custom = 1): declared in README/alert_actions.conf.spec, with a form,
 * and something splunkd can start on each platform. Without alert.execute.cmd splunkd looks for
 * bin/<stanza> with the extensions it knows; a bin/<stanza>.js beside a launcher would make the
 * choice ambiguous (and .js means Splunk's own Node.js, gone in Splunk 10.2).
 */
function checkAlertActions(ctx: Context): void {
  const actions = ctx.conf('default/alert_actions.conf');
  if (!actions) return;
  const spec = ctx.conf('README/alert_actions.conf.spec');
  for (const [name, settings] of actions) {
    if (!/^(1|true)$/i.test(settings.get('is_custom') ?? '')) continue;
    const where = `default/alert_actions.conf [${name}]`;
    if (!spec?.has(name)) ctx.fail('README/alert_actions.conf.spec', `no [${name}] stanza for the custom alert action ${name}`);
    if (!ctx.has(`default/data/ui/alerts/${name}.html`)) ctx.warn(where, `no form default/data/ui/alerts/${name}.html: the alert dialog cannot set its parameters`);
    const command = settings.get('alert.execute.cmd');
    if (command) {
      if (!ctx.has(`bin/${command}`)) ctx.fail(where, `alert.execute.cmd = ${command}, but bin/${command} is missing`);
      continue;
    }
    const nix = ['', '.sh', '.py', '.js'].filter((ext) => ctx.has(`bin/${name}${ext}`));
    const windows = ['.cmd', '.bat', '.exe', '.py', '.js'].filter((ext) => ctx.has(`bin/${name}${ext}`));
    if (nix.length === 0) ctx.fail(where, `nothing for splunkd to run on Linux/macOS: add bin/${name}.sh`);
    if (windows.length === 0) ctx.fail(where, `nothing for splunkd to run on Windows: add bin/${name}.cmd`);
    if (nix.length > 1) ctx.fail(where, `several scripts splunkd could run: ${nix.map((ext) => `bin/${name}${ext}`).join(', ')}`);
  }
}

/** Stanzas naming a modular input scheme: no ':' (unlike monitor://, tcp:514) and not one of Splunk's own stanzas. */
function inputSchemes(ctx: Context, inputs: Conf): string[] {
  const builtIn = new Set(['', 'default', 'splunktcp', 'SSL', 'http', 'powershell', 'powershell2']);
  for (const name of ctx.splunkSpec('inputs.conf')?.keys() ?? []) if (!/[<:]/.test(name)) builtIn.add(name);
  return [...inputs.keys()].filter((name) => !name.includes(':') && !builtIn.has(name));
}

function checkDeclaredKeys(ctx: Context): void {
  for (const file of defaultConfs(ctx)) {
    const foreign = FOREIGN_SPECS[file];
    const specs = [ctx.splunkSpec(file), ctx.conf(`README/${file}.spec`), foreign === undefined ? undefined : parseConf(foreign)].filter((s): s is Conf => s !== undefined);
    if (specs.length === 0) continue; // reported by checkSpecs
    const merged = new Map<string, string>();
    for (const spec of specs) for (const [k, v] of allSpecKeys(spec)) merged.set(k, v);
    // tags.conf's grammar really is `<tag> = enabled|disabled`: only there a bare placeholder counts.
    // Free-form keys by grammar: tags.conf `<tag> = enabled`, restmap.conf `<field> = validate(…)`.
    const declared = specKeyMatcher(merged, { barePlaceholders: file === 'tags.conf' || file === 'restmap.conf' });
    for (const [stanza, settings] of ctx.conf(`default/${file}`) ?? []) {
      for (const key of settings.keys()) if (!declared(key)) ctx.fail(`default/${file}`, `[${stanza}] ${key} is not declared by any spec of ${file}`);
    }
  }
}

function checkReferences(ctx: Context): void {
  const transforms = ctx.conf('default/transforms.conf') ?? new Map<string, Map<string, string>>();
  for (const [stanza, settings] of ctx.conf('default/props.conf') ?? []) {
    for (const [key, value] of settings) {
      const kind = /^(REPORT|TRANSFORMS|LOOKUP)-/.exec(key)?.[1];
      if (!kind) continue;
      // LOOKUP-x = <transforms stanza> <fields...>; REPORT-/TRANSFORMS- = a comma-separated list.
      const targets = kind === 'LOOKUP' ? [value.trim().split(/\s+/)[0]] : value.split(',').map((t) => t.trim());
      for (const target of targets.filter(Boolean)) {
        if (!transforms.has(target)) ctx.fail('default/props.conf', `[${stanza}] ${key} refers to the missing transforms.conf stanza [${target}]`);
      }
    }
  }
  for (const [stanza, settings] of transforms) {
    const filename = settings.get('filename');
    if (filename && !ctx.has(`lookups/${filename}`)) ctx.fail('default/transforms.conf', `[${stanza}] filename = ${filename}: lookups/${filename} does not exist`);
  }
  const eventtypes = ctx.conf('default/eventtypes.conf');
  for (const stanza of ctx.conf('default/tags.conf')?.keys() ?? []) {
    const eventtype = /^eventtype=(.+)$/.exec(stanza)?.[1];
    if (eventtype && !eventtypes?.has(decodeSafe(eventtype))) ctx.fail('default/tags.conf', `[${stanza}] refers to an eventtype not in default/eventtypes.conf`);
  }
}

/** tags.conf URL-encodes special characters of eventtype names. */
function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function checkMeta(ctx: Context): void {
  const meta = ctx.conf('metadata/default.meta');
  if (!meta) return ctx.fail('metadata/default.meta', 'missing');
  const global = meta.get('');
  // parseConf files keys before any stanza and those of `[]` alike under ''; the header must be there.
  if (!/^\s*\[\]\s*$/m.test(ctx.text('metadata/default.meta'))) ctx.fail('metadata/default.meta', 'has no [] stanza');
  if (!global?.get('access')) ctx.fail('metadata/default.meta', '[] has no access setting');
  const exportOf = (stanza: string): string | undefined => meta.get(stanza)?.get('export') ?? global?.get('export');
  // Only objects the app ships need exporting (CIM data models find them only when exported).
  for (const type of ['props', 'eventtypes', 'tags']) {
    if (ctx.has(`default/${type}.conf`) && exportOf(type) !== 'system') ctx.fail('metadata/default.meta', `[${type}] is not exported (export = system)`);
  }
  if (exportOf('passwords') === 'system') {
    const fix = meta.get('passwords')?.get('export') ? '' : ' (add [passwords] export = none)';
    ctx.fail('metadata/default.meta', `stored passwords are exported to every app (export = system)${fix}`);
  }
}

// ---------------------------------------------------------------------------------------------
// UI XML and JSON

/** Views that Splunk itself provides and a nav may name (the search app's standard menu). */
const BUILT_IN_VIEWS = new Set(['search', 'datasets', 'reports', 'alerts', 'dashboards', 'analytics_workspace']);

function checkUi(ctx: Context): void {
  for (const file of ctx.regularFiles().filter((f) => /^default\/data\/ui\/.+\.xml$/.test(f.rel))) {
    const result = XMLValidator.validate(ctx.text(file.rel));
    if (result !== true) ctx.fail(file.rel, `not well-formed XML (line ${result.err.line}: ${result.err.msg})`);
  }
  const nav = 'default/data/ui/nav/default.xml';
  if (!ctx.has(nav) || XMLValidator.validate(ctx.text(nav)) !== true) return;
  const views = new Set(
    ctx.regularFiles()
      .map((f) => /^default\/data\/ui\/views\/([^/]+)\.(xml|json)$/.exec(f.rel)?.[1])
      .filter((v): v is string => v !== undefined),
  );
  const parsed: unknown = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(ctx.text(nav));
  for (const name of viewNames(parsed)) {
    if (!views.has(name) && !BUILT_IN_VIEWS.has(name)) ctx.fail(nav, `refers to the view "${name}", which is not in default/data/ui/views/`);
  }
}

/** The `name` of every <view> element, at any depth (inside <collection>s too). */
function viewNames(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) viewNames(item, out);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'view') {
        for (const view of Array.isArray(value) ? value : [value]) {
          const name: unknown = view && typeof view === 'object' ? (view as Record<string, unknown>)['@_name'] : undefined;
          if (typeof name === 'string') out.push(name);
        }
      }
      viewNames(value, out);
    }
  }
  return out;
}

function checkJson(ctx: Context): void {
  for (const file of ctx.regularFiles().filter((f) => f.rel.endsWith('.json'))) {
    try {
      JSON.parse(ctx.text(file.rel));
    } catch (error) {
      ctx.fail(file.rel, `not valid JSON (${(error as Error).message})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets

/**
 * A whole PEM private key block: header, at least 64 base64 characters (allowing escaped "\n" of
 * a JS string and the Proc-Type/DEK-Info lines of encrypted PKCS#1), footer. Code that merely
 * looks for keys (a regex or message naming "-----BEGIN PRIVATE KEY-----") does not match.
 */
const PEM_PRIVATE_KEY = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?)PRIVATE KEY-----(?:[\sA-Za-z0-9+/=\\:,-]{64,}?)-----END \1PRIVATE KEY-----/;
/** A JWT after "Bearer": three base64url parts, the first one `{"` encoded. */
const BEARER_JWT = /Bearer\s+eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+/;
const CREDENTIAL_WORDS = ['password', 'passwd', 'passphrase', 'pwd', 'secret', 'token', 'apikey', 'api_key', 'access_key', 'private_key'];
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]*\d)/g;
const ALLOWED_IPS = new Set(['127.0.0.1', '0.0.0.0']);

function checkSecrets(ctx: Context): void {
  for (const file of ctx.regularFiles()) {
    if (isBinary(ctx, file)) continue;
    const text = ctx.text(file.rel);
    if (PEM_PRIVATE_KEY.test(text)) ctx.fail(file.rel, 'contains a PEM private key');
    if (BEARER_JWT.test(text)) ctx.fail(file.rel, 'contains a bearer token (JWT)');
    // Assignments and IP addresses only in conf/spec files: bundled third-party code has
    // `password:` properties and IP-like strings (test vectors, version numbers) legitimately.
    if (/\.(conf|spec)$/.test(file.rel)) checkConfCredentials(ctx, file.rel);
    if (file.rel.endsWith('.conf')) checkConfIps(ctx, file.rel);
  }
}

function checkConfCredentials(ctx: Context, rel: string): void {
  for (const [stanza, settings] of ctx.conf(rel) ?? []) {
    for (const [key, value] of settings) {
      if (isCredentialKey(key) && isLiteralValue(value)) ctx.fail(rel, `[${stanza}] ${key} holds a hard-coded credential (keep secrets in storage/passwords)`);
    }
  }
}

/**
 * `password`, `proxy_password`, `client_secret`, `sslPassword`, `token`: the key ends in a
 * credential word at a word boundary ('_', '.', '-', camelCase). Class-prefixed keys
 * (EVAL-, FIELDALIAS-, REPORT-...) name search-time operations, never credentials.
 */
function isCredentialKey(key: string): boolean {
  if (/^[A-Z]+-/.test(key)) return false;
  const lower = key.toLowerCase();
  return CREDENTIAL_WORDS.some((word) => {
    if (!lower.endsWith(word)) return false;
    const at = key.length - word.length;
    return at === 0 || /[._-]/.test(key[at - 1]) || /[A-Z]/.test(key[at]);
  });
}

/** Empty, masked (`******`), a spec placeholder (`<string>`), a $token$ or a boolean holds no secret. */
function isLiteralValue(value: string): boolean {
  const v = value.trim();
  return v !== '' && !/^\*+$/.test(v) && !/^<[^>]*>$/.test(v) && !/^\$[^$]+\$$/.test(v) && !/^(true|false)$/i.test(v);
}

function checkConfIps(ctx: Context, rel: string): void {
  for (const [stanza, settings] of ctx.conf(rel) ?? []) {
    for (const [key, value] of settings) {
      for (const ip of value.match(IPV4) ?? []) {
        if (!ALLOWED_IPS.has(ip)) ctx.fail(rel, `[${stanza}] ${key} holds the hard-coded IP address ${ip}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Licenses and binaries

const NOTICES = 'THIRD-PARTY-NOTICES.txt';

function checkLicenses(ctx: Context): void {
  if (!ctx.has('LICENSE')) ctx.fail('LICENSE', 'missing at the app root');
  if (!ctx.has(NOTICES)) return ctx.fail(NOTICES, 'missing at the app root (the notices of the bundled npm packages)');
  const text = ctx.text(NOTICES);
  if (!ctx.options.metafile) {
    if (text.trim() === '') ctx.fail(NOTICES, 'is empty');
    return ctx.warn(NOTICES, 'not cross-checked with the bundles (no metafile.json)');
  }
  // thirdPartyNotices writes each package as a line "<name> <version> (<license>)".
  for (const { name } of bundledPackages(ctx.options.metafile)) {
    if (!new RegExp(`^\\s*${escapeRegExp(name)}[\\s@]`, 'm').test(text)) ctx.fail(NOTICES, `does not name the bundled package ${name}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}


/** ELF, Windows PE (MZ header whose e_lfanew points at "PE\0\0") or Mach-O (thin or fat), by magic bytes. */
function binaryKind(ctx: Context, file: AppFile): BinaryKind | undefined {
  if (ctx.binaryKinds.has(file.rel)) return ctx.binaryKinds.get(file.rel);
  const head = readHead(file.abs, 4096);
  let kind: BinaryKind | undefined;
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) kind = 'ELF';
  else if (head.length >= 4 && [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(head.readUInt32BE(0))) kind = 'Mach-O';
  else if (head.length >= 0x40 && head.toString('latin1', 0, 2) === 'MZ') {
    const offset = head.readUInt32LE(0x3c);
    if (offset + 4 <= head.length && head.toString('latin1', offset, offset + 4) === 'PE\0\0') kind = 'PE';
  }
  ctx.binaryKinds.set(file.rel, kind);
  return kind;
}

function isBinary(ctx: Context, file: AppFile): boolean {
  return binaryKind(ctx, file) !== undefined || readHead(file.abs, 8192).includes(0);
}

function readHead(file: string, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** AppInspect wants every compiled binary named in the README's "Binary File Declaration". */
function checkBinaries(ctx: Context): void {
  const binaries = ctx.regularFiles().filter((f) => binaryKind(ctx, f) !== undefined);
  ctx.report['binaries'] = binaries.length;
  if (binaries.length === 0) return;
  const readme = ['README.md', 'README.txt'].find((name) => ctx.has(name));
  const text = readme ? ctx.text(readme) : '';
  for (const file of binaries) {
    if (!text.includes(file.rel)) ctx.fail(file.rel, `${binaryKind(ctx, file)} binary not declared in the app's README.md (name "${file.rel}" in its Binary File Declaration)`);
  }
  if (readme && !/binary file declaration/i.test(text)) ctx.warn(readme, 'has no "Binary File Declaration" section');
}

// ---------------------------------------------------------------------------------------------
// Size

function checkSize(ctx: Context): void {
  const files = ctx.regularFiles();
  for (const file of files.filter((f) => /^bin\/[^/]+\.[cm]?js$/.test(f.rel))) ctx.report[file.rel] = file.size;
  const total = files.reduce((sum, f) => sum + f.size, 0);
  ctx.report['files'] = files.length;
  ctx.report['app bytes'] = total;
  const tgz = ctx.options.tgzBytes;
  if (tgz === undefined) {
    if (total > TGZ_LIMIT) ctx.warn('(package)', `the app holds ${formatBytes(total)} uncompressed; check that its .tgz stays under ${formatBytes(TGZ_LIMIT)}`);
    return;
  }
  ctx.report['tgz bytes'] = tgz;
  if (tgz > TGZ_LIMIT) ctx.fail('(package)', `${formatBytes(tgz)} is over Splunk Cloud's ${formatBytes(TGZ_LIMIT)} limit for private apps`);
  else if (tgz > TGZ_WARN) ctx.warn('(package)', `${formatBytes(tgz)} is over half of Splunk Cloud's ${formatBytes(TGZ_LIMIT)} limit`);
}

export function formatBytes(bytes: number): string {
  return bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`;
}

const CHECKS: ((ctx: Context) => void)[] = [
  checkAppConf,
  checkManifest,
  checkForbiddenFiles,
  checkBundles,
  checkModes,
  checkLaunchers,
  checkConfSyntax,
  checkSpecs,
  checkDeclaredKeys,
  checkReferences,
  checkMeta,
  checkUi,
  checkJson,
  checkSecrets,
  checkLicenses,
  checkBinaries,
  checkSize,
];

// ---------------------------------------------------------------------------------------------
// Packages and the command line

/**
 * Extracts a .tgz (or .spl) to a temporary folder and inspects the one app folder in it; the
 * package itself must hold exactly one top-level folder and nothing else.
 */
export async function inspectPackage(tgz: string, options: InspectOptions = {}): Promise<InspectResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'inspect-'));
  const unsafe: string[] = [];
  try {
    // node-tar strips absolute and '..' paths on its own; what it strips is reported as a failure.
    await tar.x({ file: tgz, cwd: dir, onwarn: (_code: string, message: string) => void unsafe.push(message) });
    const top = readdirSync(dir);
    const folders = top.filter((name) => lstatSync(path.join(dir, name)).isDirectory());
    const packageFailures = unsafe.map((m) => `${path.basename(tgz)}: ${m}`);
    if (top.length !== 1 || folders.length !== 1) packageFailures.push(`${path.basename(tgz)}: ${top.length} top-level entries (${top.join(', ')}); expected exactly one app folder`);
    if (folders.length === 0) return { failures: packageFailures, warnings: [], report: { 'tgz bytes': statSync(tgz).size } };
    const result = inspectApp(path.join(dir, folders[0]), { ...options, tgzBytes: statSync(tgz).size });
    return { ...result, failures: [...packageFailures, ...result.failures] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const target = path.resolve(argv[0] ?? path.join(REPO_ROOT, 'dist', `TA-defender-xdr-${version}.tgz`));
  if (!existsSync(target)) {
    console.error(`inspect: ${target} does not exist (run npm run build first)`);
    return 2;
  }
  const isFolder = statSync(target).isDirectory();
  // The build writes dist/metafile.json beside the .tgz and the app folder.
  const metafilePath = path.join(path.dirname(target), 'metafile.json');
  const metafile = existsSync(metafilePath) ? (JSON.parse(readFileSync(metafilePath, 'utf8')) as MetafileLike) : undefined;
  const result = isFolder ? inspectApp(target, { metafile }) : await inspectPackage(target, { metafile });
  const shown = path.relative(process.cwd(), target);
  console.log(`inspect: ${shown && !shown.startsWith('..') ? shown : target}`);
  printResult(result, isFolder ? undefined : path.basename(target));
  return result.failures.length > 0 ? 1 : 0;
}

function printResult(result: InspectResult, tgzName: string | undefined): void {
  const { failures, warnings, report } = result;
  if (failures.length > 0) {
    console.log(`FAILED: ${failures.length} problem${failures.length === 1 ? '' : 's'}`);
    failures.forEach((failure, i) => console.log(`  ${String(i + 1).padStart(2)}. ${failure}`));
  }
  if (warnings.length > 0) {
    console.log(`warnings (${warnings.length}):`);
    for (const warning of warnings) console.log(`   - ${warning}`);
  }
  if (failures.length > 0) return;
  console.log(`OK ${report['app id'] ?? '?'} ${report['app version'] ?? '?'}: ${report['files']} files, ${report['binaries']} binaries, no failures`);
  const rows: [string, number][] = Object.entries(report)
    .filter((entry): entry is [string, number] => entry[0].startsWith('bin/') && typeof entry[1] === 'number');
  rows.push(['app (uncompressed)', Number(report['app bytes'])]);
  if (tgzName && typeof report['tgz bytes'] === 'number') rows.push([tgzName, report['tgz bytes']]);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, bytes] of rows) console.log(`  ${label.padEnd(width)}  ${formatBytes(bytes).padStart(9)}  (${bytes} bytes)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
