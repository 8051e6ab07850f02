/**
 * CSV lookups (transforms.conf `filename =`) applied by props.conf LOOKUP-<class>.
 * - Rows are tried in file order; a row matches when every match column equals the event value
 *   (case-sensitively unless case_sensitive_match = false; WILDCARD(col) columns treat `*` in
 *   the table as a wildcard). Empty table cells never match and are never output.
 * - max_matches (default 100) caps the rows per input value; min_matches/default_match pad.
 * - A multivalue input field is looked up value by value; the outputs are concatenated in input
 *   order and de-duplicated (ASSUMPTION, as Splunk does: outputs do not stay aligned with inputs).
 *   More than one multivalue input field throws.
 * - Events missing a match field are left alone. OUTPUT overwrites (and clears the output field
 *   when nothing matched); OUTPUTNEW writes only fields the event does not have. Without an
 *   OUTPUT clause every non-match column is output.
 * - Only file-based lookups with filename/case_sensitive_match/match_type (EXACT, WILDCARD)/
 *   max_matches/min_matches/default_match; anything else throws.
 */
import { confBool, fail, quotedTokens, type Fields } from './errors.js';

export interface LookupTable {
  file: string;
  header: string[];
  rows: string[][];
}

export function parseCsv(text: string, file: string): LookupTable {
  const records: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let atCellStart = true;
  const endRow = (): void => {
    row.push(cell);
    if (!(row.length === 1 && row[0] === '' )) records.push(row);
    row = [];
    cell = '';
    atCellStart = true;
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        if (i + 1 < text.length && !',\r\n'.includes(text[i + 1])) fail(`lookups/${file}: text after a closing quote`);
      } else cell += c;
    } else if (c === '"' && atCellStart) {
      quoted = true;
      atCellStart = false;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      atCellStart = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      if (c === '"') fail(`lookups/${file}: quote inside an unquoted cell`);
      cell += c;
      atCellStart = false;
    }
  }
  if (quoted) fail(`lookups/${file}: unterminated quoted cell`);
  if (cell !== '' || row.length > 0) endRow();
  const [header, ...rows] = records;
  if (!header) fail(`lookups/${file}: empty file`);
  if (new Set(header).size !== header.length) fail(`lookups/${file}: duplicate column names`);
  for (const [n, r] of rows.entries()) {
    if (r.length > header.length) fail(`lookups/${file}: row ${n + 2} has more cells than the header`);
    while (r.length < header.length) r.push('');
  }
  return { file, header, rows };
}

export interface LookupSpec {
  transform: string;
  inputs: Array<{ column: string; field: string }>;
  mode: 'OUTPUT' | 'OUTPUTNEW';
  outputs: Array<{ column: string; field: string }> | null;
}

/** Parses `<transform> <col> [AS <field>] ... [OUTPUT|OUTPUTNEW <col> [AS <field>] ...]`. */
export function parseLookupSpec(text: string, context: string): LookupSpec {
  const toks = quotedTokens(text, context);
  const kw = (i: number, ...words: string[]): boolean => !!toks[i] && !toks[i].quoted && words.includes(toks[i].text.toUpperCase());
  if (toks.length < 2) fail(`${context}: needs a lookup name and at least one match field`);
  const pairs = (from: number, stopAtOutput: boolean): [Array<{ column: string; field: string }>, number] => {
    const out: Array<{ column: string; field: string }> = [];
    let i = from;
    while (i < toks.length && !(stopAtOutput && kw(i, 'OUTPUT', 'OUTPUTNEW'))) {
      if (kw(i, 'AS', 'OUTPUT', 'OUTPUTNEW')) fail(`${context}: unexpected '${toks[i].text}'`);
      const column = toks[i].text;
      let field = column;
      if (kw(i + 1, 'AS')) {
        if (!toks[i + 2] || kw(i + 2, 'AS', 'OUTPUT', 'OUTPUTNEW')) fail(`${context}: AS without a field name`);
        field = toks[i + 2].text;
        i += 2;
      }
      out.push({ column, field });
      i++;
    }
    return [out, i];
  };
  const [inputs, next] = pairs(1, true);
  if (inputs.length === 0) fail(`${context}: no match fields`);
  if (next >= toks.length) return { transform: toks[0].text, inputs, mode: 'OUTPUT', outputs: null };
  const mode = toks[next].text.toUpperCase() as 'OUTPUT' | 'OUTPUTNEW';
  const [outputs] = pairs(next + 1, false);
  if (outputs.length === 0) fail(`${context}: ${mode} without fields`);
  return { transform: toks[0].text, inputs, mode, outputs };
}

export interface LookupDef {
  name: string;
  filename: string;
  caseSensitive: boolean;
  wildcard: Set<string>;
  maxMatches: number;
  minMatches: number;
  defaultMatch: string;
}

const LOOKUP_KEYS = new Set(['filename', 'case_sensitive_match', 'match_type', 'max_matches', 'min_matches', 'default_match']);

export function lookupDef(name: string, stanza: Map<string, string> | undefined, context: string): LookupDef {
  if (!stanza) return fail(`${context}: transforms.conf has no stanza [${name}]`);
  for (const key of stanza.keys()) {
    if (!LOOKUP_KEYS.has(key)) fail(`${context}: transforms.conf [${name}] ${key} is not supported for lookups by this tool`);
  }
  const filename = stanza.get('filename');
  if (!filename) fail(`${context}: transforms.conf [${name}] has no filename (only CSV file lookups are supported)`);
  const wildcard = new Set<string>();
  for (const spec of (stanza.get('match_type') ?? '').split(/[\s,]+/).filter(Boolean)) {
    const m = /^(WILDCARD|EXACT|CIDR)\((.+)\)$/.exec(spec);
    if (!m || m[1] === 'CIDR') fail(`${context}: transforms.conf [${name}] match_type '${spec}' is not supported`);
    if (m[1] === 'WILDCARD') wildcard.add(m[2].trim());
  }
  const int = (key: string, dflt: number, min: number, max: number): number => {
    const v = stanza.get(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) fail(`${context}: transforms.conf [${name}] ${key} = ${v} is out of range`);
    return n;
  };
  return {
    name,
    filename: filename.replace(/^.*[\\/]/, ''),
    caseSensitive: confBool(stanza.get('case_sensitive_match') ?? 'true', `transforms.conf [${name}] case_sensitive_match`),
    wildcard,
    maxMatches: int('max_matches', 100, 1, 1000),
    minMatches: int('min_matches', 0, 0, 1000),
    defaultMatch: stanza.get('default_match') ?? '',
  };
}

function cellMatcher(def: LookupDef, column: string, value: string): (cell: string) => boolean {
  if (def.wildcard.has(column)) {
    return (cell) => {
      if (cell === '') return false;
      const body = cell.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
      return new RegExp(`^${body}$`, def.caseSensitive ? 's' : 'is').test(value);
    };
  }
  if (def.caseSensitive) return (cell) => cell !== '' && cell === value;
  const lower = value.toLowerCase();
  return (cell) => cell !== '' && cell.toLowerCase() === lower;
}

/** Applies one automatic lookup to `fields` in place. */
export function applyLookup(fields: Fields, spec: LookupSpec, def: LookupDef, table: LookupTable, context: string): void {
  const col = (name: string): number => {
    const i = table.header.indexOf(name);
    if (i < 0) fail(`${context}: lookups/${table.file} has no column '${name}'`);
    return i;
  };
  const inputCols = spec.inputs.map((inp) => col(inp.column));
  const outputs = spec.outputs ?? table.header.filter((h) => !spec.inputs.some((inp) => inp.column === h)).map((h) => ({ column: h, field: h }));
  const outputCols = outputs.map((o) => col(o.column));
  const inputValues = spec.inputs.map((inp) => fields.get(inp.field) ?? []);
  if (inputValues.some((v) => v.length === 0)) return;
  const mvInputs = inputValues.filter((v) => v.length > 1).length;
  if (mvInputs > 1) fail(`${context}: more than one multivalue match field is not modelled`);
  const mvIndex = inputValues.findIndex((v) => v.length > 1);
  const combos: string[][] = mvIndex < 0 ? [inputValues.map((v) => v[0])] : inputValues[mvIndex].map((value) => inputValues.map((v, i) => (i === mvIndex ? value : v[0])));
  const results = outputs.map(() => [] as string[]);
  for (const combo of combos) {
    const matchers = combo.map((value, i) => cellMatcher(def, spec.inputs[i].column, value));
    const rows = table.rows.filter((row) => matchers.every((m, i) => m(row[inputCols[i]]))).slice(0, def.maxMatches);
    for (const row of rows) outputCols.forEach((c, o) => row[c] !== '' && results[o].push(row[c]));
    for (let n = rows.length; n < def.minMatches; n++) if (def.defaultMatch !== '') results.forEach((r) => r.push(def.defaultMatch));
  }
  outputs.forEach((o, i) => {
    const values = [...new Set(results[i])];
    if (spec.mode === 'OUTPUTNEW') {
      if ((fields.get(o.field) ?? []).length === 0 && values.length > 0) fields.set(o.field, values);
    } else if (values.length > 0) fields.set(o.field, values);
    else fields.delete(o.field);
  });
}
