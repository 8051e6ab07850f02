/**
 * THIRD-PARTY-NOTICES.txt for the esbuild bundles: every npm package whose files esbuild put into
 * bin/*.js (read from the build's metafile), with its version, license and full license text.
 * The output depends only on the metafile and node_modules (no dates), so a rebuild of the same
 * commit gives the same bytes.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The part of esbuild's Metafile this module reads. */
export interface MetafileLike {
  inputs: Record<string, unknown>;
}

export interface BundledPackage {
  /** The package name as its path under node_modules spells it (`@scope/name` or `name`). */
  name: string;
  /** Its folder, as the metafile spells it (relative to esbuild's working directory, i.e. the repo). */
  dir: string;
}

/** Matches the innermost `node_modules/<name>` or `node_modules/@scope/<name>` of an input path. */
const PACKAGE_PATH = /^(.*node_modules\/(@[^/]+\/[^/]+|[^/@][^/]*))(?:\/|$)/;

/** The distinct packages (one per folder, so two nested versions of a package both count), sorted by name then folder. */
export function bundledPackages(metafile: MetafileLike): BundledPackage[] {
  const byDir = new Map<string, BundledPackage>();
  for (const input of Object.keys(metafile.inputs)) {
    const found = packageOf(input);
    if (found) byDir.set(found.dir, found);
  }
  return [...byDir.values()].sort((a, b) => compare(a.name, b.name) || compare(a.dir, b.dir));
}

function packageOf(input: string): BundledPackage | undefined {
  // esbuild prefixes some inputs with a namespace, e.g. "(disabled):node_modules/x/y.js".
  const normalised = input.replace(/\\/g, '/').replace(/^\([^)]*\):/, '');
  // Greedy `.*` picks the last node_modules segment: needle/node_modules/sax is sax, not needle.
  const match = PACKAGE_PATH.exec(normalised);
  return match ? { name: match[2], dir: match[1] } : undefined;
}

/** Plain byte order: locale-independent, so the notice is the same on every build machine. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface PackageJson {
  name?: string;
  version?: string;
  license?: unknown;
  licenses?: unknown;
  author?: unknown;
  repository?: unknown;
  homepage?: unknown;
}

interface PackageNotice {
  name: string;
  version: string;
  license: string;
  author?: string;
  url?: string;
  texts: { file: string; text: string }[];
}

const SEPARATOR = '-'.repeat(80);

export function thirdPartyNotices(metafile: MetafileLike, repoRoot: string): string {
  const notices = bundledPackages(metafile).map((pkg) => readNotice(pkg, repoRoot));
  notices.sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version));
  const header = [
    'THIRD-PARTY SOFTWARE NOTICES',
    '',
    'The JavaScript bundles in bin/*.js include the following third-party npm packages.',
    'Each is listed with its version, its license and the copyright and license text it is',
    'distributed with. These notices apply only to that third-party code.',
    '',
    `Packages (${notices.length}):`,
    ...notices.map((n) => `  ${n.name} ${n.version} (${n.license})`),
  ].join('\n');
  return [header, ...notices.map(renderNotice)].join(`\n\n${SEPARATOR}\n\n`) + '\n';
}

function renderNotice(notice: PackageNotice): string {
  const lines = [`${notice.name} ${notice.version} (${notice.license})`];
  if (notice.url) lines.push(notice.url);
  if (notice.author) lines.push(`Author: ${notice.author}`);
  for (const { file, text } of notice.texts) lines.push('', `--- ${file} ---`, '', text);
  return lines.join('\n');
}

function readNotice(pkg: BundledPackage, repoRoot: string): PackageNotice {
  const dir = path.resolve(repoRoot, pkg.dir);
  const manifestPath = path.join(dir, 'package.json');
  // A bundled package without its package.json means node_modules is not what was bundled: stop.
  if (!existsSync(manifestPath)) throw new Error(`thirdPartyNotices: ${pkg.dir}/package.json not found`);
  const json = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageJson;
  const license = licenseOf(json);
  const texts = licenseFiles(dir).map((file) => ({ file, text: cleanText(readFileSync(path.join(dir, file), 'utf8')) }));
  if (texts.length === 0) texts.push({ file: 'package.json "license"', text: `${license} (the package ships no license file)` });
  return {
    name: typeof json.name === 'string' ? json.name : pkg.name,
    version: typeof json.version === 'string' ? json.version : 'unknown',
    license,
    author: personOf(json.author),
    url: repositoryUrl(json.repository) ?? (typeof json.homepage === 'string' ? json.homepage : undefined),
    texts,
  };
}

/** LICENSE, LICENSE.md, LICENCE-MIT, license.txt ... and NOTICE files (Apache-2.0 asks for them to be passed on). */
const LICENSE_FILE = /^(licen[cs]e|notice)([.-][\w.-]+)?$/i;

function licenseFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => LICENSE_FILE.test(name) && statSync(path.join(dir, name)).isFile())
    .sort((a, b) => licenseRank(a) - licenseRank(b) || compare(a.toLowerCase(), b.toLowerCase()));
}

/** License files before NOTICE files. */
function licenseRank(name: string): number {
  return /^notice/i.test(name) ? 1 : 0;
}

function cleanText(text: string): string {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
}

/** SPDX expression from `license`, or the legacy `licenses: [{ type }]` form. */
function licenseOf(json: PackageJson): string {
  if (typeof json.license === 'string') return json.license;
  const typeOf = (value: unknown): string | undefined =>
    value && typeof value === 'object' && 'type' in value && typeof value.type === 'string' ? value.type : undefined;
  const single = typeOf(json.license);
  if (single) return single;
  if (Array.isArray(json.licenses)) {
    const types = json.licenses.map(typeOf).filter((t): t is string => t !== undefined);
    if (types.length > 0) return types.length === 1 ? types[0] : `(${types.join(' OR ')})`;
  }
  return 'UNKNOWN';
}

function personOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (!value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const parts = [record.name, record.email && `<${String(record.email)}>`, record.url && `(${String(record.url)})`];
  const text = parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
  return text || undefined;
}

/** A browsable https URL from the many forms `repository` takes (git+ssh, git://, shorthands). */
export function repositoryUrl(value: unknown): string | undefined {
  const raw = typeof value === 'string' ? value : value && typeof value === 'object' && 'url' in value && typeof value.url === 'string' ? value.url : undefined;
  if (!raw) return undefined;
  let url = raw.trim();
  const shorthand = /^(?:(github|gitlab|bitbucket):)?([\w.-]+\/[\w.-]+)$/.exec(url);
  if (shorthand) url = `https://${shorthand[1] === 'gitlab' ? 'gitlab.com' : shorthand[1] === 'bitbucket' ? 'bitbucket.org' : 'github.com'}/${shorthand[2]}`;
  url = url
    .replace(/^git\+/, '')
    .replace(/^git@([^:]+):/, 'https://$1/')
    .replace(/^(?:ssh|git):\/\/(?:git@)?/, 'https://')
    .replace(/^http:\/\//, 'https://')
    .replace(/\.git$/, '');
  return url;
}
