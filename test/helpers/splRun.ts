/**
 * TEST TOOL — runs the small subset of SPL the add-on's dashboards use (search filters, eval,
 * where, stats, timechart, sort, dedup, head, table, rename, fillnull, iplocation, outputlookup) over events whose fields
 * come from the search-time model, to give the dashboard preview real results from fixture data.
 * It is not Splunk: it models what these searches need and throws on anything else. The field
 * checks of test/unit/dashboards.test.ts do not depend on it.
 */
import { geoLookup } from './geoip.js';
import { parseAggregations, splitPipeline, splitTopLevel } from './spl.js';

export type Cell = string | number | null | string[];
export type Row = Record<string, Cell>;

// ------------------------------------------------------------------------------------------
// Expressions (eval / where)

type Node =
  | { k: 'lit'; v: Cell }
  | { k: 'field'; name: string }
  | { k: 'call'; name: string; args: Node[] }
  | { k: 'not'; e: Node }
  | { k: 'neg'; e: Node }
  | { k: 'bin'; op: string; l: Node; r: Node };

const BINARY: Array<[string[], number]> = [[['OR'], 1], [['AND'], 2], [['=', '==', '!=', '<', '>', '<=', '>='], 4], [['+', '-', '.'], 5], [['*', '/', '%'], 6]];

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\d+(?:\.\d+)?|[A-Za-z_][\w.{}]*|==|!=|<=|>=|[-+*/%.=<>(),])/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(src))) {
    tokens.push(m[1]);
    at = re.lastIndex;
  }
  if (src.slice(at).trim()) throw new Error(`cannot read expression at: ${src.slice(at)}`);
  return tokens;
}

export function parseExpression(src: string): Node {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t: string) => {
    if (next() !== t) throw new Error(`expected ${t} in ${src}`);
  };
  const primary = (): Node => {
    const t = next();
    if (t === undefined) throw new Error(`unexpected end of ${src}`);
    if (t === '(') {
      const e = binary(0);
      expect(')');
      return e;
    }
    if (t === 'NOT') return { k: 'not', e: binary(3) };
    if (t === '-') return { k: 'neg', e: primary() };
    if (t.startsWith('"')) return { k: 'lit', v: JSON.parse(t) as string };
    if (t.startsWith("'")) return { k: 'field', name: t.slice(1, -1) };
    if (/^\d/.test(t)) return { k: 'lit', v: Number(t) };
    if (peek() === '(') {
      next();
      const args: Node[] = [];
      while (peek() !== ')') {
        args.push(binary(0));
        if (peek() === ',') next();
      }
      expect(')');
      return { k: 'call', name: t, args };
    }
    return { k: 'field', name: t };
  };
  const binary = (min: number): Node => {
    let left = primary();
    for (;;) {
      const op = peek();
      const level = BINARY.find(([ops]) => op !== undefined && ops.includes(op))?.[1];
      if (level === undefined || level <= min) return left;
      next();
      left = { k: 'bin', op: op === '==' ? '=' : op, l: left, r: binary(level) };
    }
  };
  const node = binary(0);
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${src}`);
  return node;
}

const single = (v: Cell): string | number | null => (Array.isArray(v) ? (v[0] ?? null) : v);
const num = (v: Cell): number | null => {
  const s = single(v);
  if (s === null || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

/** strptime for the formats the dashboards use: %Y-%m-%dT%H:%M:%S%z. */
function strptime(value: string, format: string): number | null {
  if (format !== '%Y-%m-%dT%H:%M:%S%z') throw new Error(`strptime format ${format} is not modelled`);
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-]\d{4})$/.exec(value);
  if (!m) return null;
  const offset = (Number(m[7].slice(0, 3)) * 60 + Math.sign(Number(m[7].slice(0, 3)) || 1) * Number(m[7].slice(3))) * 60;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000 - offset;
}

function strftime(epoch: number, format: string): string {
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const parts: Record<string, string> = { Y: String(d.getUTCFullYear()), m: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()), H: pad(d.getUTCHours()), M: pad(d.getUTCMinutes()), S: pad(d.getUTCSeconds()), z: '+0000' };
  return format.replace(/%([YmdHMSz])/g, (_, c: string) => parts[c]);
}

/** Splunk's regexes are PCRE: a leading (?i) becomes JavaScript's i flag. */
function splRegex(pattern: string): RegExp {
  const m = /^\(\?i\)/.exec(pattern);
  return m ? new RegExp(pattern.slice(m[0].length), 'i') : new RegExp(pattern);
}

export function evaluateExpression(node: Node, row: Row, nowS: number): Cell {
  const ev = (n: Node) => evaluateExpression(n, row, nowS);
  switch (node.k) {
    case 'lit': return node.v;
    case 'field': return row[node.name] ?? null;
    case 'not': return ev(node.e) === 'true' ? 'false' : 'true';
    case 'neg': { const v = num(ev(node.e)); return v === null ? null : -v; }
    case 'bin': {
      const l = ev(node.l);
      const r = ev(node.r);
      if (node.op === 'AND') return l === 'true' && r === 'true' ? 'true' : 'false';
      if (node.op === 'OR') return l === 'true' || r === 'true' ? 'true' : 'false';
      if (node.op === '.') return single(l) === null || single(r) === null ? null : `${single(l)}${single(r)}`;
      if (['+', '-', '*', '/', '%'].includes(node.op)) {
        const a = num(l);
        const b = num(r);
        if (a === null || b === null) return null;
        return node.op === '+' ? a + b : node.op === '-' ? a - b : node.op === '*' ? a * b : node.op === '/' ? (b === 0 ? null : a / b) : a % b;
      }
      const a = single(l);
      const b = single(r);
      if (a === null || b === null) return 'false';
      const na = num(a);
      const nb = num(b);
      const c = na !== null && nb !== null ? na - nb : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
      const ok = { '=': c === 0, '!=': c !== 0, '<': c < 0, '>': c > 0, '<=': c <= 0, '>=': c >= 0 }[node.op];
      if (ok === undefined) throw new Error(`operator ${node.op} is not modelled`);
      return ok ? 'true' : 'false';
    }
    case 'call': {
      const args = node.args;
      const s = (i: number) => single(ev(args[i]));
      switch (node.name) {
        case 'if': return ev(args[0]) === 'true' ? ev(args[1]) : ev(args[2]);
        case 'null': return null;
        case 'now': return nowS;
        case 'coalesce': for (const a of args) { const v = ev(a); if (v !== null) return v; } return null;
        case 'nullif': { const a = ev(args[0]); return single(a) === single(ev(args[1])) ? null : a; }
        case 'isnull': return ev(args[0]) === null ? 'true' : 'false';
        case 'isnotnull': return ev(args[0]) === null ? 'false' : 'true';
        case 'tonumber': return num(ev(args[0]));
        case 'round': { const v = num(ev(args[0])); const p = args[1] ? (num(ev(args[1])) ?? 0) : 0; return v === null ? null : Math.round(v * 10 ** p) / 10 ** p; }
        case 'substr': { const v = s(0); if (v === null) return null; const start = Number(s(1)); const len = args[2] ? Number(s(2)) : undefined; return String(v).substr(start - 1, len); }
        case 'strptime': { const v = s(0); return v === null ? null : strptime(String(v), String(s(1))); }
        case 'strftime': { const v = num(ev(args[0])); return v === null ? null : strftime(v, String(s(1))); }
        case 'relative_time': { const base = num(ev(args[0])); const m = /^-(\d+)m$/.exec(String(s(1))); if (base === null || !m) throw new Error('relative_time is modelled for -<n>m only'); return base - Number(m[1]) * 60; }
        case 'true': return 'true';
        case 'case': {
          for (let i = 0; i + 1 < args.length; i += 2) if (ev(args[i]) === 'true') return ev(args[i + 1]);
          return null;
        }
        case 'match': { const v = single(ev(args[0])); return v === null ? 'false' : splRegex(String(s(1))).test(String(v)) ? 'true' : 'false'; }
        case 'mvjoin': { const v = ev(args[0]); return v === null ? null : (Array.isArray(v) ? v : [String(v)]).join(String(s(1))); }
        case 'mvappend': { const out = args.flatMap((a) => { const v = ev(a); return v === null ? [] : Array.isArray(v) ? v : [String(v)]; }); return out.length === 0 ? null : out.length === 1 ? out[0] : out; }
        case 'mvmap': {
          // mvmap(field, expression): the expression sees each value of the field in turn; null results are dropped.
          const field = args[0];
          if (field.k !== 'field') throw new Error('mvmap is modelled over a field only');
          const cell = row[field.name] ?? null;
          const out = (cell === null ? [] : Array.isArray(cell) ? cell : [String(cell)]).flatMap((v) => {
            const r = evaluateExpression(args[1], { ...row, [field.name]: v }, nowS);
            return r === null ? [] : Array.isArray(r) ? r : [String(r)];
          });
          return out.length === 0 ? null : out.length === 1 ? out[0] : out;
        }
        default: throw new Error(`function ${node.name}() is not modelled`);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------
// Search filters

type Filter = { k: 'term'; field: string; op: '=' | '!='; value: string } | { k: 'time'; bound: 'earliest' | 'latest'; value: string } | { k: 'and' | 'or'; items: Filter[] } | { k: 'not'; e: Filter } | { k: 'all' };

function parseFilter(src: string, tokens: Record<string, string>): Filter {
  const parts = [...src.matchAll(/\(|\)|([A-Za-z_][\w.{}:@-]*)\s*(!=|=)\s*("(?:[^"\\]|\\.)*"|[^\s()]+)|(\S+)/g)];
  let i = 0;
  const orExpr = (): Filter => {
    const items = [andExpr()];
    while (parts[i]?.[4] === 'OR') {
      i++;
      items.push(andExpr());
    }
    return items.length === 1 ? items[0] : { k: 'or', items };
  };
  const andExpr = (): Filter => {
    const items: Filter[] = [];
    while (i < parts.length && parts[i][0] !== ')' && parts[i][4] !== 'OR') {
      const p = parts[i++];
      if (p[0] === '(') {
        items.push(orExpr());
        i++; // )
      } else if (p[4] === 'NOT') items.push({ k: 'not', e: andExpr() });
      else if (p[4] === 'AND') continue;
      else if (p[1]) {
        let value = p[3].startsWith('"') ? (JSON.parse(p[3]) as string) : p[3];
        value = value.replace(/\$([\w.]+)\$/g, (_, t: string) => tokens[t] ?? '*');
        if (p[1] === 'earliest' || p[1] === 'latest') items.push({ k: 'time', bound: p[1], value });
        else items.push(p[1] === 'index' ? { k: 'all' } : { k: 'term', field: p[1], op: p[2] as '=' | '!=', value });
      } else throw new Error(`search term ${p[0]} is not modelled`);
    }
    return items.length === 1 ? items[0] : { k: 'and', items };
  };
  return parts.length ? orExpr() : { k: 'all' };
}

function matches(f: Filter, row: Row, nowS = 0): boolean {
  switch (f.k) {
    case 'all': return true;
    case 'and': return f.items.every((x) => matches(x, row, nowS));
    case 'or': return f.items.some((x) => matches(x, row, nowS));
    case 'not': return !matches(f.e, row, nowS);
    case 'time': {
      // earliest=/latest= with now or -<n>s|m|h|d (no snapping): compared with the row's _time.
      const m = /^(?:now|-(\d+)([smhd]))$/.exec(f.value);
      if (!m) throw new Error(`time modifier ${f.bound}=${f.value} is not modelled`);
      const bound = nowS - (m[1] ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'] : 0);
      const t = Number(row._time);
      return f.bound === 'earliest' ? t >= bound : t <= bound;
    }
    case 'term': {
      const cell = row[f.field];
      const values = cell === null || cell === undefined ? [] : (Array.isArray(cell) ? cell : [cell]).map(String);
      const re = new RegExp(`^${f.value.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
      const hit = values.some((v) => re.test(v));
      return f.op === '=' ? hit : values.length > 0 && !hit;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Commands

function aggregate(fn: string, values: Cell[]): Cell {
  const flat = values.flatMap((v) => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]));
  const nums = flat.map((v) => Number(v)).filter((n) => Number.isFinite(n));
  switch (fn) {
    case 'count': return values.length;
    case 'dc': return new Set(flat.map(String)).size;
    case 'sum': return nums.reduce((a, b) => a + b, 0);
    case 'avg': return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case 'min': return nums.length ? Math.min(...nums) : null;
    case 'max': return nums.length ? Math.max(...nums) : null;
    // Rows arrive newest first, as a search returns them.
    case 'latest': return flat.length ? flat[0] : null;
    default: throw new Error(`stats function ${fn} is not modelled`);
  }
}

/** Groups rows by the by-fields; a multivalue by-field puts the row in each of its values' groups. */
function groups(rows: Row[], by: string[]): Map<string, { key: Row; rows: Row[] }> {
  const out = new Map<string, { key: Row; rows: Row[] }>();
  for (const row of rows) {
    let keys: Row[] = [{}];
    for (const field of by) {
      const cell = row[field];
      const values = cell === null || cell === undefined ? [] : Array.isArray(cell) ? cell : [cell];
      keys = keys.flatMap((k) => values.map((v) => ({ ...k, [field]: v })));
    }
    for (const key of keys) {
      const id = JSON.stringify(key);
      const g = out.get(id) ?? { key, rows: [] };
      g.rows.push(row);
      out.set(id, g);
    }
  }
  return out;
}

export interface RunOptions {
  nowS: number;
  tokens?: Record<string, string>;
  /** timechart bucket, seconds. */
  spanS?: number;
  /** Where outputlookup writes, by lookup name. */
  lookups?: Record<string, Row[]>;
}

/** Runs a (macro-expanded) pipeline over rows (newest first); returns the result rows. */
export function runSpl(pipeline: string, input: Row[], options: RunOptions): Row[] {
  let rows = input;
  splitPipeline(pipeline).forEach((stage, index) => {
    const [, command = '', args = ''] = /^(\S*)\s*([\s\S]*)$/.exec(stage) ?? [];
    const cmd = index === 0 && command !== 'search' ? 'search' : command;
    const body = index === 0 && command !== 'search' ? stage : args;
    switch (cmd) {
      case 'search': {
        const filter = parseFilter(body, options.tokens ?? {});
        rows = rows.filter((r) => matches(filter, r, options.nowS));
        break;
      }
      case 'where': {
        const node = parseExpression(body);
        rows = rows.filter((r) => evaluateExpression(node, r, options.nowS) === 'true');
        break;
      }
      case 'eval': {
        const assignments = splitTopLevel(body, ',').map((a) => {
          const m = /^\s*([A-Za-z_][\w.]*)\s*=([\s\S]+)$/.exec(a);
          if (!m) throw new Error(`eval ${a}`);
          return { name: m[1], node: parseExpression(m[2]) };
        });
        rows = rows.map((r) => {
          const out = { ...r };
          for (const a of assignments) out[a.name] = evaluateExpression(a.node, out, options.nowS);
          return out;
        });
        break;
      }
      case 'stats': {
        const { aggs, by } = parseAggregations(body);
        rows = [...groups(rows, by).values()].map(({ key, rows: rs }) => {
          const out: Row = { ...key };
          for (const a of aggs) out[a.as] = aggregate(a.fn, a.field ? rs.map((r) => r[a.field as string] ?? null) : rs.map(() => 1));
          return out;
        });
        if (by.length) rows.sort((a, b) => JSON.stringify(by.map((f) => a[f])).localeCompare(JSON.stringify(by.map((f) => b[f]))));
        break;
      }
      case 'timechart': {
        const { aggs, by } = parseAggregations(body);
        if (aggs.length !== 1 && by.length) throw new Error('timechart with several aggregations and a split is not modelled');
        const span = options.spanS ?? 86_400;
        const buckets = groups(rows.map((r) => ({ ...r, _bucket: Math.floor(Number(r._time) / span) * span })), ['_bucket']);
        const series = by.length ? [...new Set(rows.flatMap((r) => { const c = r[by[0]]; return c === null || c === undefined ? [] : Array.isArray(c) ? c : [String(c)]; }))].sort() : aggs.map((a) => a.as);
        rows = [...buckets.values()]
          .sort((a, b) => Number(a.key._bucket) - Number(b.key._bucket))
          .map(({ key, rows: rs }) => {
            const out: Row = { _time: new Date(Number(key._bucket) * 1000).toISOString() };
            if (by.length) {
              const g = groups(rs, by);
              for (const name of series) {
                const hit = g.get(JSON.stringify({ [by[0]]: name }));
                out[name] = hit ? aggregate(aggs[0].fn, aggs[0].field ? hit.rows.map((r) => r[aggs[0].field as string] ?? null) : hit.rows.map(() => 1)) : 0;
              }
            } else for (const a of aggs) out[a.as] = aggregate(a.fn, a.field ? rs.map((r) => r[a.field as string] ?? null) : rs.map(() => 1));
            return out;
          });
        break;
      }
      case 'sort': {
        const keys = body.split(/[\s,]+/).filter((t) => t && !/^\d+$/.test(t));
        const spec: Array<{ field: string; desc: boolean }> = [];
        for (let i = 0; i < keys.length; i++) {
          if (keys[i] === '-' || keys[i] === '+') spec.push({ field: keys[++i], desc: keys[i - 1] === '-' });
          else spec.push({ field: keys[i].replace(/^[-+]/, ''), desc: keys[i].startsWith('-') });
        }
        rows = [...rows].sort((a, b) => {
          for (const { field, desc } of spec) {
            const x = single(a[field] ?? null);
            const y = single(b[field] ?? null);
            const nx = Number(x);
            const ny = Number(y);
            const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : String(x).localeCompare(String(y));
            if (c !== 0) return desc ? -c : c;
          }
          return 0;
        });
        break;
      }
      case 'dedup': {
        const fields = body.split(/[\s,]+/).filter(Boolean);
        const seen = new Set<string>();
        rows = rows.filter((r) => {
          if (fields.some((f) => r[f] === null || r[f] === undefined)) return false;
          const key = JSON.stringify(fields.map((f) => r[f]));
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        break;
      }
      case 'head':
        rows = rows.slice(0, Number(body.trim() || 10));
        break;
      case 'table': {
        const fields = body.split(/[\s,]+/).filter(Boolean);
        rows = rows.map((r) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null])));
        break;
      }
      case 'rename': {
        const pairs = body.split(',').map((p) => /^\s*(\S+)\s+as\s+(\S+)\s*$/i.exec(p)).map((m) => {
          if (!m) throw new Error(`rename ${body}`);
          return [m[1], m[2]] as const;
        });
        rows = rows.map((r) => {
          const out = { ...r };
          for (const [from, to] of pairs) {
            out[to] = out[from] ?? null;
            delete out[from];
          }
          return out;
        });
        break;
      }
      case 'fillnull': {
        const m = /value=("[^"]*"|\S+)\s*(.*)$/.exec(body);
        const value = m ? m[1].replace(/^"|"$/g, '') : '0';
        const fields = (m ? m[2] : body).split(/[\s,]+/).filter(Boolean);
        rows = rows.map((r) => ({ ...r, ...Object.fromEntries(fields.map((f) => [f, r[f] ?? value])) }));
        break;
      }
      case 'iplocation': {
        // Splunk: adds City, Country, Region, lat, lon (with prefix=) from its GeoIP database (here
        // the fixed test table of geoip.ts); an address without a location gets no fields.
        const m = /^((?:\s*(?:prefix|allfields|lang)=\S+)*)\s*([A-Za-z_][\w.{}]*)\s*$/.exec(body);
        if (!m) throw new Error(`iplocation ${body}`);
        const opts = Object.fromEntries([...m[1].matchAll(/(prefix|allfields|lang)=(\S+)/g)].map((o) => [o[1], o[2].replace(/^"|"$/g, '')]));
        if (opts.lang || (opts.allfields && !/^(false|f|0)$/i.test(opts.allfields))) throw new Error('iplocation: only prefix= is modelled');
        const prefix = opts.prefix ?? '';
        rows = rows.map((r) => {
          const ip = single(r[m[2]] ?? null);
          const where = ip === null ? undefined : geoLookup(String(ip));
          if (!where) return r;
          return { ...r, [`${prefix}City`]: where.City, [`${prefix}Country`]: where.Country, [`${prefix}Region`]: where.Region, [`${prefix}lat`]: String(where.lat), [`${prefix}lon`]: String(where.lon) };
        });
        break;
      }
      case 'outputlookup': {
        // The rows are what the lookup then holds (no append: outputlookup replaces it).
        const name = body.trim().split(/\s+/).pop()!;
        if (!options.lookups) throw new Error('outputlookup needs options.lookups to write to');
        options.lookups[name] = rows.map((r) => ({ ...r }));
        break;
      }
      default:
        throw new Error(`command ${cmd} is not modelled`);
    }
  });
  return rows;
}

/** Results as Dashboard Studio's static data source (ds.test) wants them: fields and columns. */
export function toColumns(rows: Row[]): { fields: Array<{ name: string }>; columns: Cell[][] } {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { fields: names.map((name) => ({ name })), columns: names.map((n) => rows.map((r) => r[n] ?? null)) };
}
