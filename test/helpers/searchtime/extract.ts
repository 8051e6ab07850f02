/**
 * Regex extractions: props.conf EXTRACT-<class> and REPORT-<class> (transforms.conf REGEX,
 * FORMAT, SOURCE_KEY, MV_ADD, CLEAN_KEYS, KEEP_EMPTY_VALS). Both run BEFORE KV_MODE = json, so
 * they cannot read JSON fields (the tool throws when one tries, instead of silently extracting
 * nothing as Splunk does). EXTRACT takes the first match's named groups; REPORT with a FORMAT
 * whose field names are $n repeats the match over the whole source, otherwise first match only.
 * A field produced twice (without MV_ADD) throws. DELIMS/FIELDS and other transforms keys throw.
 */
import { confBool, fail, type Fields } from './errors.js';
import { compileRegex } from './regex.js';

export interface ExtractDef {
  regex: RegExp;
  source: string;
}

export function extractDef(value: string, context: string): ExtractDef {
  const m = /^([\s\S]*\S)\s+in\s+([A-Za-z0-9_]+)$/.exec(value);
  const pattern = m ? m[1] : value;
  if (/\(\?P?<_(KEY|VAL)_/.test(pattern)) fail(`${context}: _KEY_/_VAL_ groups are not supported`);
  if (!/\(\?P?<[A-Za-z]/.test(pattern)) fail(`${context}: EXTRACT needs named capturing groups`);
  return { regex: compileRegex(pattern, 'ms', context), source: m ? m[2] : '_raw' };
}

export interface ReportDef {
  regex: RegExp;
  source: string;
  pairs: Array<{ name: string; value: string }> | null;
  dynamic: boolean;
  mvAdd: boolean;
  cleanKeys: boolean;
  keepEmpty: boolean;
}

const REPORT_KEYS = new Set(['REGEX', 'FORMAT', 'SOURCE_KEY', 'MV_ADD', 'CLEAN_KEYS', 'KEEP_EMPTY_VALS', 'MATCH_LIMIT', 'DEPTH_LIMIT', 'CAN_OPTIMIZE']);

export function reportDef(name: string, stanza: Map<string, string> | undefined, context: string): ReportDef {
  if (!stanza) return fail(`${context}: transforms.conf has no stanza [${name}]`);
  const ctx = `${context} -> transforms.conf [${name}]`;
  for (const key of stanza.keys()) if (!REPORT_KEYS.has(key)) fail(`${ctx}: ${key} is not supported by this tool`);
  const regexText = stanza.get('REGEX');
  if (!regexText) fail(`${ctx}: REGEX is required`);
  const source = stanza.get('SOURCE_KEY') ?? '_raw';
  if (source.includes(':')) fail(`${ctx}: SOURCE_KEY = ${source} is not supported (use a plain field name)`);
  const format = stanza.get('FORMAT');
  let pairs: ReportDef['pairs'] = null;
  if (format) {
    pairs = format.split(/\s+/).filter(Boolean).map((p) => {
      const m = /^(.+?)::(.*)$/.exec(p);
      if (!m) return fail(`${ctx}: FORMAT item '${p}' is not <name>::<value>`);
      for (const part of [m[1], m[2]]) if (part.includes('$') && !/^\$\d+$/.test(part)) fail(`${ctx}: FORMAT '${p}': concatenation is not possible at search time`);
      return { name: m[1], value: m[2] };
    });
  } else if (/\(\?P?<_(KEY|VAL)_/.test(regexText)) fail(`${ctx}: _KEY_/_VAL_ groups are not supported`);
  return {
    regex: compileRegex(regexText, '', ctx),
    source,
    pairs,
    dynamic: !!pairs?.some((p) => p.name.startsWith('$')),
    mvAdd: confBool(stanza.get('MV_ADD') ?? 'false', `${ctx} MV_ADD`),
    cleanKeys: confBool(stanza.get('CLEAN_KEYS') ?? 'true', `${ctx} CLEAN_KEYS`),
    keepEmpty: confBool(stanza.get('KEEP_EMPTY_VALS') ?? 'false', `${ctx} KEEP_EMPTY_VALS`),
  };
}

/** The single source value a regex runs on, or null when the field is absent. */
function sourceValue(fields: Fields, source: string, jsonFields: Fields, context: string): string | null {
  const values = fields.get(source);
  if (!values) {
    if (jsonFields.has(source)) fail(`${context}: reads '${source}', which only KV_MODE = json creates, and that runs after EXTRACT/REPORT: Splunk would extract nothing`);
    return null;
  }
  if (values.length !== 1) fail(`${context}: source field '${source}' is multivalue; not modelled`);
  return values[0];
}

export function applyExtract(fields: Fields, def: ExtractDef, jsonFields: Fields, context: string): void {
  const text = sourceValue(fields, def.source, jsonFields, context);
  const m = text === null ? null : def.regex.exec(text);
  for (const [name, value] of Object.entries(m?.groups ?? {})) {
    if (value === undefined || value === '') continue;
    if (fields.has(name)) fail(`${context}: field '${name}' already exists; overlapping extractions are not modelled`);
    fields.set(name, [value]);
  }
}

export function applyReport(fields: Fields, def: ReportDef, jsonFields: Fields, context: string): void {
  const text = sourceValue(fields, def.source, jsonFields, context);
  if (text === null) return;
  const add = (name: string, value: string): void => {
    if (value === '' && !def.keepEmpty) return;
    if (['_raw', 'sourcetype', 'source', 'host', 'index'].includes(name)) fail(`${context}: extracting default field '${name}' is not modelled`);
    const existing = fields.get(name);
    if (!existing) fields.set(name, [value]);
    else if (def.mvAdd) existing.push(value);
  };
  const matches = def.dynamic ? [...text.matchAll(new RegExp(def.regex.source, `${def.regex.flags}g`))] : [def.regex.exec(text)];
  for (const m of matches) {
    if (!m) continue;
    if (!def.pairs) {
      for (const [name, value] of Object.entries(m.groups ?? {})) if (value !== undefined) add(name, value);
      continue;
    }
    const resolve = (part: string): string | undefined => {
      if (!part.startsWith('$')) return part;
      const n = Number(part.slice(1));
      if (n >= m.length) fail(`${context}: FORMAT refers to ${part} but REGEX has ${m.length - 1} groups`);
      return m[n];
    };
    for (const pair of def.pairs) {
      let name = resolve(pair.name);
      const value = resolve(pair.value);
      if (name === undefined || value === undefined) continue;
      if (pair.name.startsWith('$') && def.cleanKeys) name = name.replace(/[^A-Za-z0-9]/g, '_').replace(/^[_0-9]+/, '');
      if (name !== '') add(name, value);
    }
  }
}
