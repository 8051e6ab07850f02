/**
 * TEST TOOL — a model of Splunk's search-time pipeline, used to check the add-on's shipped
 * knowledge objects (default/props.conf, transforms.conf, eventtypes.conf, tags.conf,
 * lookups/*.csv) against raw events without a Splunk instance. It is not Splunk: it is strict
 * where Splunk is lenient or where its behaviour is uncertain, and THROWS (SearchTimeError)
 * on anything it does not model rather than skipping it.
 *
 * Per event, in Splunk's order:
 *  1. props settings: '' / [default] < [<sourcetype>] < [host::...] < [source::...] (patterns
 *     with `...` and `*`; ties by `priority`, then ASCII order as props.conf.spec says).
 *  2. EXTRACT-* then REPORT-* (extract.ts), then KV_MODE (only `json` and `none`; the default
 *     `auto` throws) with limits.conf [spath] extraction_cutoff, [kv] maxchars / limit / maxcols
 *     from <appDir>/default/limits.conf (Splunk defaults otherwise): an event beyond them throws,
 *     since which fields Splunk would drop is not modelled. JSON rules: json.ts.
 *  3. FIELDALIAS-* in class (ASCII) order; every alias reads the fields as extracted (aliases do
 *     not see each other); `AS` overwrites and REMOVES the target when the source is missing,
 *     `ASNEW` only fills a missing target. Two aliases onto one target throw.
 *  4. EVAL-* all computed from the aliased fields (they never see each other), then assigned; a
 *     null result removes the field. Language: eval.ts.
 *  5. LOOKUP-* (also LOOKUP_/lookup...) in class order; a lookup reading another lookup's output
 *     throws. Semantics: lookup.ts.
 *  6. eventtypes.conf (disabled ones skipped; search syntax: search.ts) against the final fields,
 *     then tags.conf `[field=value]` stanzas (value URL-decoded; matched case-insensitively, except
 *     eventtype names) -> `eventtype`, `tag` and `tag::<field>` fields, sorted.
 * Default fields: `_raw`, `sourcetype`, and `source`/`host`/`index` when given. Internal fields
 * (_time, date_*, punct, ...) are not modelled; an EVAL reading one throws.
 *
 * lintApp(app) checks the confs without events: dangling references (tags -> eventtypes,
 * LOOKUP/REPORT -> transforms stanzas, CSV files and columns), unparsable aliases/EVALs/searches,
 * keys set twice in a stanza, and ordering mistakes (an alias or EVAL reading a field that only
 * an EVAL or lookup creates, EVALs reading each other, chained lookups).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConf, type Conf } from '../../../tools/conf.js';
import { SearchTimeError, confBool, fail, quotedTokens, type Fields } from './errors.js';
import { evalExpression, fieldRefs, parseEval, toFieldValues } from './eval.js';
import { applyExtract, applyReport, extractDef, reportDef } from './extract.js';
import { extractJson } from './json.js';
import { applyLookup, lookupDef, parseCsv, parseLookupSpec, type LookupTable } from './lookup.js';
import { matchesSearch, parseSearch } from './search.js';

export { SearchTimeError, type Fields } from './errors.js';
export { evalExpression, parseEval, type EvalNode, type Value } from './eval.js';
export { extractJson } from './json.js';
export { parseCsv, type LookupTable } from './lookup.js';
export { matchesSearch, parseSearch } from './search.js';

export interface Limits {
  extractionCutoff: number;
  maxchars: number;
  kvLimit: number;
  maxcols: number;
}

export interface SearchTimeApp {
  dir: string;
  props: Conf;
  transforms: Conf;
  eventtypes: Conf;
  tags: Conf;
  limits: Limits;
  /** lookups/*.csv by file name. */
  lookups: Map<string, LookupTable>;
  /** Problems seen while reading (repeated keys), reported by lintApp. */
  readProblems: string[];
}

export interface SearchTimeEvent {
  sourcetype: string;
  source?: string;
  host?: string;
  index?: string;
  raw: string;
}

export interface SearchTimeResult {
  fields: Fields;
  eventtypes: string[];
  tags: string[];
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Keys set twice in one stanza (parseConf keeps the last silently). Mirrors parseConf's line rules. */
function repeatedKeys(text: string, file: string): string[] {
  const problems: string[] = [];
  const seen = new Map<string, Set<string>>();
  let stanza = '';
  let pending = '';
  for (const physical of text.split(/\r?\n/)) {
    if (physical.endsWith('\\')) {
      pending += `${physical.slice(0, -1)}\n`;
      continue;
    }
    const line = pending + physical;
    pending = '';
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const head = /^\[(.*)\]$/.exec(trimmed);
    if (head) {
      stanza = head[1].trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    const keys = seen.get(stanza) ?? new Set<string>();
    seen.set(stanza, keys);
    if (keys.has(key)) problems.push(`${file} [${stanza}] ${key} is set more than once (the last value wins)`);
    keys.add(key);
  }
  return problems;
}

/** Reads <appDir>/default/{props,transforms,eventtypes,tags,limits}.conf (missing = empty) and <appDir>/lookups/*.csv. */
export function loadApp(appDir: string): SearchTimeApp {
  const readProblems: string[] = [];
  const read = (name: string): Conf => {
    const path = join(appDir, 'default', name);
    if (!existsSync(path)) return parseConf('');
    const text = readFileSync(path, 'utf8');
    readProblems.push(...repeatedKeys(text, name));
    return parseConf(text);
  };
  const limitsConf = read('limits.conf');
  const limit = (stanza: string, key: string, dflt: number): number => {
    const v = limitsConf.get(stanza)?.get(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) fail(`limits.conf [${stanza}] ${key} = ${v} is not a non-negative integer`);
    return n;
  };
  const lookups = new Map<string, LookupTable>();
  const lookupDir = join(appDir, 'lookups');
  if (existsSync(lookupDir)) {
    for (const file of readdirSync(lookupDir).filter((f) => f.endsWith('.csv')).sort()) {
      lookups.set(file, parseCsv(readFileSync(join(lookupDir, file), 'utf8'), file));
    }
  }
  return {
    dir: appDir,
    props: read('props.conf'),
    transforms: read('transforms.conf'),
    eventtypes: read('eventtypes.conf'),
    tags: read('tags.conf'),
    limits: {
      extractionCutoff: limit('spath', 'extraction_cutoff', 5000),
      maxchars: limit('kv', 'maxchars', 10240),
      kvLimit: limit('kv', 'limit', 100),
      maxcols: limit('kv', 'maxcols', 512),
    },
    lookups,
    readProblems,
  };
}

// ---------------------------------------------------------------------------------------------
// Props

function stanzaPattern(pattern: string, caseInsensitive: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern.startsWith('...', i)) {
      re += '.*';
      i += 2;
    } else if (pattern[i] === '*') re += '[^/]*';
    else if (pattern[i] === '.') re += '\\.';
    else if (pattern[i] === '\\') re += pattern[i] + (pattern[++i] ?? '');
    else re += pattern[i];
  }
  try {
    return new RegExp(`^(?:${re})$`, caseInsensitive ? 'i' : '');
  } catch (e) {
    return fail(`props.conf stanza pattern '${pattern}' is not supported: ${(e as Error).message}`);
  }
}

function matchingStanzas(props: Conf, prefix: string, value: string | undefined, caseInsensitive: boolean): Array<Map<string, string>> {
  if (value === undefined) return [];
  const found: Array<{ name: string; priority: number; stanza: Map<string, string> }> = [];
  for (const [name, stanza] of props) {
    if (!name.startsWith(prefix)) continue;
    const pattern = name.slice(prefix.length);
    if (!stanzaPattern(pattern, caseInsensitive).test(value)) continue;
    const literal = !/\.\.\.|[*|()[\]?+\\]/.test(pattern);
    const priority = stanza.has('priority') ? Number(stanza.get('priority')) : literal ? 100 : 0;
    found.push({ name, priority, stanza });
  }
  // Applied in this order, later overriding earlier: lower priority first; on a tie the
  // ASCII-smaller pattern wins, so it comes last.
  found.sort((a, b) => a.priority - b.priority || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  return found.map((f) => f.stanza);
}

/** The merged props settings that apply to an event. */
export function propsFor(app: SearchTimeApp, event: SearchTimeEvent): Map<string, string> {
  const layers = [
    app.props.get(''),
    app.props.get('default'),
    app.props.get(event.sourcetype),
    ...matchingStanzas(app.props, 'host::', event.host, true),
    ...matchingStanzas(app.props, 'source::', event.source, false),
  ];
  const merged = new Map<string, string>();
  for (const layer of layers) for (const [k, v] of layer ?? []) merged.set(k, v);
  return merged;
}

/** Keys of one kind, sorted by class name (ASCII), as [class, value]. */
function classes(settings: Map<string, string>, prefix: RegExp): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const [key, value] of settings) {
    const m = prefix.exec(key);
    if (m) out.push([m[1], key, value]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
const EXTRACT = /^EXTRACT-(.+)$/;
const REPORT = /^REPORT-(.+)$/;
const FIELDALIAS = /^FIELDALIAS-(.+)$/;
const EVAL = /^EVAL-(.+)$/;
const LOOKUP = /^lookup[-_]?(.+)$/i;

interface Alias {
  src: string;
  dst: string;
  asnew: boolean;
  key: string;
}

function parseAliases(value: string, key: string): Alias[] {
  const toks = quotedTokens(value, key);
  const out: Alias[] = [];
  for (let i = 0; i < toks.length; i += 3) {
    const op = toks[i + 1];
    if (!op || op.quoted || !['AS', 'ASNEW'].includes(op.text.toUpperCase()) || !toks[i + 2]) {
      fail(`${key} = ${value}: expected '<field> AS|ASNEW <field>' pairs`);
    }
    out.push({ src: toks[i].text, dst: toks[i + 2].text, asnew: op.text.toUpperCase() === 'ASNEW', key });
  }
  if (out.length === 0) fail(`${key}: empty`);
  return out;
}

function parsedAliases(settings: Map<string, string>): Alias[] {
  return classes(settings, FIELDALIAS).flatMap(([, key, value]) => parseAliases(value, key));
}

function checkAliasTargets(aliases: Alias[]): void {
  const byDst = new Map<string, Alias>();
  for (const a of aliases) {
    const other = byDst.get(a.dst);
    if (other) {
      const who = other.key === a.key ? `${a.key} aliases twice` : `${other.key} and ${a.key} both alias`;
      fail(`${who} onto '${a.dst}' (Splunk applies only one; use EVAL with coalesce)`);
    }
    byDst.set(a.dst, a);
  }
}

const NOT_MODELLED_KEYS = ['INDEXED_EXTRACTIONS', 'rename'];

/** Runs fn, prefixing SearchTimeErrors with `<context> <key>:` (without repeating the key). */
function withContext<T>(context: string, key: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof SearchTimeError)) throw e;
    const msg = key === '' || e.message.startsWith(`${key}:`) || e.message.startsWith(`${key} `) ? e.message : `${key}: ${e.message}`;
    throw new SearchTimeError(`${context} ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Runs the search-time pipeline on one event (see the module comment). */
export function evaluate(app: SearchTimeApp, event: SearchTimeEvent): SearchTimeResult {
  const settings = propsFor(app, event);
  const where = `props.conf for sourcetype ${event.sourcetype}`;
  for (const key of NOT_MODELLED_KEYS) if (settings.has(key)) fail(`${where}: ${key} is not modelled`);

  const fields: Fields = new Map([['_raw', [event.raw]], ['sourcetype', [event.sourcetype]]]);
  for (const key of ['source', 'host', 'index'] as const) {
    const v = event[key];
    if (v !== undefined) fields.set(key, [v]);
  }

  // 2. Extractions.
  const kvMode = settings.get('KV_MODE') ?? 'auto';
  if (kvMode !== 'json' && kvMode !== 'none') fail(`${where}: KV_MODE = ${kvMode} is not modelled (use json or none)`);
  const json: Fields = kvMode === 'json' ? extractJsonWithinLimits(app.limits, event.raw, where) : new Map();
  for (const [, key, value] of classes(settings, EXTRACT)) {
    withContext(where, key, () => applyExtract(fields, extractDef(value, key), json, key));
  }
  for (const [, key, value] of classes(settings, REPORT)) {
    for (const name of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      withContext(where, key, () => applyReport(fields, reportDef(name, app.transforms.get(name), key), json, key));
    }
  }
  for (const [name, values] of json) {
    if (fields.has(name)) fail(`${where}: JSON field '${name}' collides with an existing field; not modelled`);
    fields.set(name, values);
  }

  // 3. Aliases, all reading the extracted fields.
  const extracted = new Map(fields);
  const aliases = withContext(where, '', () => parsedAliases(settings));
  withContext(`${where}:`, '', () => checkAliasTargets(aliases));
  for (const a of aliases) {
    const src = extracted.get(a.src);
    if (a.asnew) {
      if (src && !extracted.has(a.dst)) fields.set(a.dst, [...src]);
    } else if (src) fields.set(a.dst, [...src]);
    else fields.delete(a.dst);
  }

  // 4. Calculated fields, all reading the aliased fields.
  const computed = classes(settings, EVAL).map(([field, key, expr]) =>
    withContext(where, key, () => [field, toFieldValues(evalExpression(expr, fields), key)] as const),
  );
  for (const [field, values] of computed) {
    if (values === null) fields.delete(field);
    else fields.set(field, values);
  }

  // 5. Lookups.
  const lookupOutputs = new Map<string, string>();
  for (const [, key, value] of classes(settings, LOOKUP)) {
    withContext(where, key, () => {
      const spec = parseLookupSpec(value, key);
      for (const inp of spec.inputs) {
        const by = lookupOutputs.get(inp.field);
        if (by) fail(`reads '${inp.field}', an output of ${by}: chained automatic lookups are not modelled`);
      }
      const def = lookupDef(spec.transform, app.transforms.get(spec.transform), key);
      const table = app.lookups.get(def.filename) ?? fail(`lookups/${def.filename} does not exist`);
      applyLookup(fields, spec, def, table, key);
      const outputs = spec.outputs?.map((o) => o.field) ?? table.header.filter((h) => !spec.inputs.some((i) => i.column === h));
      for (const o of outputs) lookupOutputs.set(o, key);
    });
  }

  // 6. Eventtypes and tags.
  const eventtypes: string[] = [];
  for (const [name, stanza] of app.eventtypes) {
    if (name === '' || name === 'default') continue;
    withContext(`eventtypes.conf [${name}]:`, '', () => {
      if (eventtypeDisabled(name, stanza)) return;
      if (matchesSearch(stanza.get('search') as string, fields)) eventtypes.push(name);
    });
  }
  eventtypes.sort();
  if (eventtypes.length > 0) fields.set('eventtype', eventtypes);

  const tagsByField = new Map<string, Set<string>>();
  for (const [name, stanza] of app.tags) {
    if (name === '' || name === 'default') {
      if (stanza.size > 0) fail(`tags.conf: keys outside a [field=value] stanza`);
      continue;
    }
    const { field, value } = withContext(`tags.conf [${name}]:`, '', () => tagStanza(app, name, stanza));
    const values = fields.get(field) ?? [];
    const hit = field === 'eventtype' ? values.includes(value) : values.some((v) => v.toLowerCase() === value.toLowerCase());
    if (!hit) continue;
    for (const [tag, state] of stanza) {
      if (state.toLowerCase() !== 'enabled') continue;
      const set = tagsByField.get(field) ?? new Set<string>();
      tagsByField.set(field, set.add(tag));
    }
  }
  const tags = [...new Set([...tagsByField.values()].flatMap((s) => [...s]))].sort();
  if (tags.length > 0) fields.set('tag', tags);
  for (const [field, set] of tagsByField) fields.set(`tag::${field}`, [...set].sort());

  return { fields, eventtypes, tags };
}

function extractJsonWithinLimits(limits: Limits, raw: string, where: string): Fields {
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (limits.extractionCutoff > 0 && bytes > limits.extractionCutoff) {
    fail(`${where}: event is ${bytes} bytes, beyond limits.conf [spath] extraction_cutoff = ${limits.extractionCutoff}; Splunk would extract only a prefix (not modelled)`);
  }
  if (limits.maxchars > 0 && raw.length > limits.maxchars) {
    fail(`${where}: event is ${raw.length} characters, beyond limits.conf [kv] maxchars = ${limits.maxchars}; Splunk would truncate before extracting (not modelled)`);
  }
  const json = extractJson(raw);
  for (const [key, max] of [['limit', limits.kvLimit], ['maxcols', limits.maxcols]] as const) {
    if (max > 0 && json.size > max) {
      fail(`${where}: the event has ${json.size} JSON fields, beyond limits.conf [kv] ${key} = ${max}; Splunk's auto-KV would stop creating fields (not modelled; raise it, 0 = unlimited)`);
    }
  }
  return json;
}

const EVENTTYPE_KEYS = new Set(['search', 'disabled', 'priority', 'description', 'color']);

function eventtypeDisabled(name: string, stanza: Map<string, string>): boolean {
  for (const key of stanza.keys()) if (!EVENTTYPE_KEYS.has(key)) fail(`${key} is not supported (tags belong in tags.conf)`);
  if (name.includes('%')) fail('%field% substitution in eventtype names is not modelled');
  if (confBool(stanza.get('disabled') ?? '0', 'disabled')) return true;
  if (!stanza.get('search')) fail('no search');
  return false;
}

function tagStanza(app: SearchTimeApp, name: string, stanza: Map<string, string>): { field: string; value: string } {
  const eq = name.indexOf('=');
  if (eq <= 0) fail('a tags stanza must be [<field>=<value>]');
  const field = name.slice(0, eq).trim();
  let value: string;
  try {
    value = decodeURIComponent(name.slice(eq + 1).trim());
  } catch {
    return fail('the value is not valid URL encoding');
  }
  if (field === 'eventtype' && !app.eventtypes.has(value)) fail(`eventtype '${value}' is not defined in eventtypes.conf`);
  for (const [tag, state] of stanza) {
    if (!['enabled', 'disabled'].includes(state.toLowerCase())) fail(`${tag} = ${state}: must be enabled or disabled`);
  }
  return { field, value };
}

// ---------------------------------------------------------------------------------------------
// Lint

/** Problems in the app's knowledge objects, without any event. Empty = clean. */
export function lintApp(app: SearchTimeApp): string[] {
  const problems = [...app.readProblems];
  const check = (context: string, key: string, fn: () => void): void => {
    try {
      withContext(context, key, fn);
    } catch (e) {
      if (!(e instanceof SearchTimeError)) throw e;
      problems.push(e.message);
    }
  };
  for (const [stanzaName, settings] of app.props) {
    const ctx = `props.conf [${stanzaName}]`;
    const kv = settings.get('KV_MODE');
    if (kv !== undefined && kv !== 'json' && kv !== 'none') problems.push(`${ctx} KV_MODE = ${kv} is not modelled`);
    // What each stage creates, for the ordering checks below.
    const aliases: Alias[] = [];
    for (const [, key, value] of classes(settings, FIELDALIAS)) check(ctx, key, () => void aliases.push(...parseAliases(value, key)));
    check(ctx, '', () => checkAliasTargets(aliases));
    // Fields an EVAL or LOOKUP evidently creates (an EVAL reading its own field, or a lookup
    // output that is also a lookup input, overwrites a field that already exists: no warning).
    const evals = classes(settings, EVAL);
    const evalOutputs = new Set<string>();
    for (const [field, , expr] of evals) {
      let self = false;
      try {
        self = fieldRefs(parseEval(expr)).has(field);
      } catch {
        // reported below
      }
      if (!self) evalOutputs.add(field);
    }
    const lookups = classes(settings, LOOKUP);
    const allLookupOutputs = new Map<string, string>();
    const lookupInputs = new Set<string>();
    for (const [, key, value] of lookups) {
      check(ctx, key, () => {
        const spec = parseLookupSpec(value, key);
        spec.inputs.forEach((i) => lookupInputs.add(i.field));
        spec.outputs?.forEach((o) => allLookupOutputs.set(o.field, key));
      });
    }
    const lookupOutputs = new Map([...allLookupOutputs].filter(([f]) => !lookupInputs.has(f)));
    for (const a of aliases) {
      if (evalOutputs.has(a.src)) problems.push(`${ctx} ${a.key}: reads '${a.src}', which EVAL-${a.src} computes, but aliases run before EVALs`);
      if (lookupOutputs.has(a.src)) problems.push(`${ctx} ${a.key}: reads '${a.src}', which ${lookupOutputs.get(a.src)} outputs, but aliases run before lookups`);
      const chained = aliases.find((b) => b.dst === a.src && b !== a);
      if (chained) problems.push(`${ctx} ${a.key}: reads '${a.src}', which ${chained.key} creates, but aliases do not see each other`);
    }
    for (const [field, key, expr] of evals) {
      check(ctx, key, () => {
        for (const ref of fieldRefs(parseEval(expr))) {
          if (ref !== field && evalOutputs.has(ref)) fail(`reads '${ref}', which EVAL-${ref} computes, but EVALs do not see each other`);
          if (lookupOutputs.has(ref)) fail(`reads '${ref}', which ${lookupOutputs.get(ref)} outputs, but EVALs run before lookups`);
        }
      });
    }
    for (const [, key, value] of lookups) {
      check(ctx, key, () => {
        const spec = parseLookupSpec(value, key);
        for (const inp of spec.inputs) {
          const by = allLookupOutputs.get(inp.field);
          if (by && by !== key) fail(`reads '${inp.field}', which ${by} outputs, but automatic lookups do not chain`);
        }
        const def = lookupDef(spec.transform, app.transforms.get(spec.transform), key);
        const table = app.lookups.get(def.filename) ?? fail(`lookups/${def.filename} does not exist`);
        for (const c of [...spec.inputs, ...(spec.outputs ?? [])]) {
          if (!table.header.includes(c.column)) fail(`lookups/${def.filename} has no column '${c.column}'`);
        }
        if (def.minMatches === 0 && app.transforms.get(spec.transform)?.has('default_match')) {
          fail(`transforms.conf [${spec.transform}] default_match has no effect without min_matches`);
        }
      });
    }
    for (const [, key, value] of classes(settings, REPORT)) {
      for (const name of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        check(ctx, key, () => void reportDef(name, app.transforms.get(name), key));
      }
    }
    for (const [, key, value] of classes(settings, EXTRACT)) check(ctx, key, () => void extractDef(value, key));
  }
  for (const [name, stanza] of app.transforms) {
    const file = stanza.get('filename');
    if (file && !app.lookups.has(file.replace(/^.*[\\/]/, ''))) problems.push(`transforms.conf [${name}]: lookups/${file} does not exist`);
  }
  for (const [name, stanza] of app.eventtypes) {
    if (name === '' || name === 'default') continue;
    check(`eventtypes.conf [${name}]:`, '', () => {
      if (!eventtypeDisabled(name, stanza)) parseSearch(stanza.get('search') as string);
    });
  }
  for (const [name, stanza] of app.tags) {
    if (name === '' || name === 'default') continue;
    check(`tags.conf [${name}]:`, '', () => void tagStanza(app, name, stanza));
  }
  return problems;
}
