/**
 * TEST TOOL — a static reader of the SPL the dashboards and saved searches run: expands macros
 * (each must exist), splits the pipeline and, command by command, collects the fields each one
 * reads and the fields it leaves for the next, so a test can check that every field a search uses
 * is one the add-on's data really has. Strict: a command it does not know is a problem, not a pass.
 * It reads the few commands the add-on's searches use; it does not run them.
 */
import type { Conf } from '../../tools/conf.js';

/** Fields every event has in Splunk, whatever its sourcetype. */
export const DEFAULT_FIELDS = ['_time', '_raw', 'index', 'source', 'sourcetype', 'host', 'eventtype', 'tag', 'linecount', 'splunk_server'];

/** Search-language words and time modifiers that look like fields in a search clause. */
const SEARCH_DIRECTIVES = new Set(['index', 'sourcetype', 'source', 'host', 'earliest', 'latest', 'eventtype', 'tag']);
const EXPRESSION_WORDS = new Set(['AND', 'OR', 'NOT', 'XOR', 'LIKE', 'IN', 'as', 'AS', 'by', 'BY']);

export interface Expanded {
  text: string;
  macros: string[];
}

/** Replaces `name` macros (no arguments) by their definitions, recursively. */
export function expandMacros(spl: string, macros: Conf, depth = 0): Expanded {
  if (depth > 10) throw new Error(`macro expansion too deep in: ${spl}`);
  const used: string[] = [];
  const text = spl.replace(/`([^`]+)`/g, (_, name: string) => {
    const definition = macros.get(name)?.get('definition');
    if (definition === undefined) throw new Error(`macro \`${name}\` is not defined in macros.conf`);
    const inner = expandMacros(definition, macros, depth + 1);
    used.push(name, ...inner.macros);
    return inner.text;
  });
  return { text, macros: used };
}

/** Splits the pipeline into its commands. */
export function splitPipeline(spl: string): string[] {
  return splitTopLevel(spl, '|');
}

/** Field names an eval/where expression reads: bare identifiers not called as functions, and 'quoted' names. */
export function expressionFields(expr: string): string[] {
  const fields: string[] = [];
  const re = /"(?:[^"\\]|\\.)*"|'((?:[^'\\]|\\.)*)'|([A-Za-z_][A-Za-z0-9_.{}:@]*)(\s*\()?|\$[^$]*\$|\S/g;
  for (const m of expr.matchAll(re)) {
    if (m[1] !== undefined) fields.push(m[1]);
    else if (m[2] !== undefined && !m[3] && !EXPRESSION_WORDS.has(m[2]) && !/^\d/.test(m[2])) fields.push(m[2]);
  }
  return fields;
}

/** Fields a search clause filters on (`field=value`, `field!=value`, `field IN (...)`). */
export function searchClauseFields(clause: string): string[] {
  const fields: string[] = [];
  const re = /"(?:[^"\\]|\\.)*"|([A-Za-z_][A-Za-z0-9_.{}:@-]*|'[^']+')\s*(?:!=|=|\s+IN\s*\()/g;
  for (const m of clause.matchAll(re)) {
    if (m[1] === undefined) continue;
    const name = m[1].replace(/^'|'$/g, '');
    if (!SEARCH_DIRECTIVES.has(name)) fields.push(name);
  }
  return fields;
}

/** Splits on a separator outside quotes, parentheses and brackets; parts are trimmed, empty ones dropped. */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      current += c;
      if (c === '\\') current += text[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === separator && depth === 0) {
      if (current.trim()) parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

export interface Aggregation {
  fn: string;
  field: string | null;
  as: string;
}

/** `count`, `dc(id) as alerts`, `sum(x) as y, avg(z)` ... then `by a b`. */
export function parseAggregations(args: string): { aggs: Aggregation[]; by: string[]; options: Record<string, string> } {
  const options: Record<string, string> = {};
  let rest = args.replace(/^\s*((?:[a-z_]+=\S+\s+)*)/, (all: string) => {
    for (const [, k, v] of all.matchAll(/([a-z_]+)=(\S+)/g)) options[k] = v;
    return '';
  });
  const byMatch = /\s+by\s+(.+)$/i.exec(rest);
  const by = byMatch ? byMatch[1].split(/[\s,]+/).filter(Boolean) : [];
  if (byMatch) rest = rest.slice(0, byMatch.index);
  const aggs: Aggregation[] = [];
  const re = /([a-z_]+)(?:\(([^)]*)\))?(?:\s+as\s+("[^"]+"|[A-Za-z_][\w.]*))?\s*,?/gi;
  for (const m of rest.matchAll(re)) {
    if (!m[0].trim()) continue;
    const fn = m[1].toLowerCase();
    const field = m[2]?.trim() || null;
    aggs.push({ fn, field, as: m[3]?.replace(/"/g, '') ?? (field ? `${fn}(${field})` : fn) });
  }
  return { aggs, by, options };
}

export interface Analysis {
  /** Fields read that the input did not have at that point. */
  problems: string[];
  /** Fields the search ends with; null when they depend on the data (timechart ... by). */
  output: Set<string> | null;
}

/**
 * Walks the pipeline: every field a command reads must exist at that point (in `available`, or
 * made by an earlier command). After a transforming command only its own output exists.
 */
export function analyse(pipeline: string, available: Iterable<string>): Analysis {
  const problems: string[] = [];
  let fields: Set<string> | null = new Set(available);
  const read = (stage: string, names: string[]) => {
    for (const name of names) if (fields && !fields.has(name)) problems.push(`${stage.split(/\s/)[0] || 'search'}: field "${name}" does not exist here`);
  };
  splitPipeline(pipeline).forEach((stage, index) => {
    const [, command = '', args = ''] = /^(\S*)\s*([\s\S]*)$/.exec(stage) ?? [];
    const cmd = index === 0 && command !== 'search' ? 'search' : command;
    const body = index === 0 && command !== 'search' ? stage : args;
    switch (cmd) {
      case 'search':
        read(stage, searchClauseFields(body));
        break;
      case 'where':
        read(stage, expressionFields(body));
        break;
      case 'eval': {
        const made: string[] = [];
        for (const assignment of splitTopLevel(body, ',')) {
          const m = /^([A-Za-z_][\w.]*)\s*=([\s\S]+)$/.exec(assignment);
          if (!m) {
            problems.push(`eval: cannot read "${assignment}"`);
            continue;
          }
          read(stage, expressionFields(m[2]).filter((f) => !made.includes(f)));
          made.push(m[1]);
        }
        // eval assignments are visible to the following commands (and, in Splunk, to later
        // assignments of the same eval).
        made.forEach((f) => fields?.add(f));
        break;
      }
      case 'stats':
      case 'eventstats':
      case 'timechart': {
        const { aggs, by } = parseAggregations(body);
        read(stage, [...aggs.flatMap((a) => (a.field ? [a.field] : [])), ...by]);
        const out = [...by, ...aggs.map((a) => a.as)];
        if (cmd === 'eventstats') out.forEach((f) => fields?.add(f));
        else if (cmd === 'timechart') fields = by.length ? null : new Set(['_time', ...out]);
        else fields = new Set(out);
        break;
      }
      case 'table':
      case 'fields': {
        const names = body.split(/[\s,]+/).filter((n) => n && n !== '-' && n !== '+');
        read(stage, names);
        // Both keep only the named fields (fields also keeps _time and _raw).
        fields = new Set(cmd === 'table' ? names : [...names, '_time', '_raw']);
        break;
      }
      case 'dedup':
        read(stage, body.split(/[\s,]+/).filter((n) => n && !/^\d+$/.test(n) && !/^(keepempty|consecutive|sortby)/.test(n)));
        break;
      case 'sort':
        read(stage, body.split(/[\s,]+/).map((n) => n.replace(/^[-+]/, '')).filter((n) => n && !/^\d+$/.test(n)));
        break;
      case 'head':
      // outputlookup <name> writes the rows to a lookup and passes them on unchanged.
      case 'outputlookup':
        break;
      case 'rename':
        for (const pair of splitTopLevel(body, ',')) {
          const m = /^(\S+)\s+as\s+(\S+)$/i.exec(pair);
          if (!m) {
            problems.push(`rename: cannot read "${pair}"`);
            continue;
          }
          read(stage, [m[1]]);
          fields?.delete(m[1]);
          fields?.add(m[2]);
        }
        break;
      case 'fillnull': {
        const names = body.replace(/value=("[^"]*"|\S+)/, '').split(/[\s,]+/).filter(Boolean);
        names.forEach((f) => fields?.add(f));
        break;
      }
      // iplocation [prefix=<p>] <ip field>: reads the field, adds <p>City, Country, Region, lat, lon.
      case 'iplocation': {
        const prefix = /prefix=("[^"]*"|\S+)/.exec(body)?.[1]?.replace(/^"|"$/g, '') ?? '';
        const ipField = body.replace(/(prefix|allfields|lang)=("[^"]*"|\S+)/g, '').trim();
        read(stage, [ipField]);
        for (const f of ['City', 'Country', 'Region', 'lat', 'lon']) fields?.add(`${prefix}${f}`);
        break;
      }
      default:
        problems.push(`command "${cmd}" is not known to this checker`);
    }
  });
  return { problems, output: fields };
}
