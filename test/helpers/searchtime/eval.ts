/**
 * Splunk's eval language, as used by props.conf EVAL-<field>.
 *
 * Syntax: "string" literals (\" and \\ are escapes; any other backslash is kept, so "\d+" is a
 * regex), numbers, bare field names ([A-Za-z_][A-Za-z0-9_]*) or 'single-quoted' ones
 * ('evidence{}.deviceDnsName'), function calls, parentheses and, loosest to tightest:
 * OR, XOR, AND, NOT, comparisons (= == != < > <= >= LIKE), + - . (concatenation), * / %, unary -.
 * AND/OR/XOR/NOT/LIKE must be upper case. Bare true/false/null are rejected (Splunk would read
 * them as field names): use true(), false(), null().
 *
 * Values: null, string, number, boolean or multivalue (2+ strings). Field values are strings;
 * a numeric-looking string acts as a number in arithmetic and comparisons (both sides numeric ->
 * numeric comparison, otherwise a case-sensitive string comparison).
 *
 * Null: arithmetic, '.', comparisons and single-value functions on null give null (so `x."s"`
 * is null when x is missing, and `x!="a"` is NOT true when x is missing). AND/OR/NOT use SQL
 * three-valued logic; if()/case()/mvfilter treat a null condition as false.
 *
 * Multivalue: Splunk's handling of a multivalue field in a single-value position (comparison,
 * '.', lower(), replace(), match(), ...) differs across functions and versions, so this tool
 * THROWS there. Reduce explicitly: mvindex(x,0), mvjoin(x,","), mvfilter(...), mvmap(...),
 * mvfind(...), mvcount(...). coalesce/if/case/mvappend/mvdedup/isnull/isnotnull pass mv through.
 *
 * Functions: coalesce if case in like match replace lower upper len trim ltrim rtrim substr split
 * tostring tonumber isnull isnotnull nullif true false null spath mvappend mvdedup mvindex
 * mvcount mvjoin mvfilter mvmap mvfind. Anything else throws.
 */
import { fail, type Fields } from './errors.js';
import { flattenJson, parseJson } from './json.js';
import { compileRegex } from './regex.js';

export type EvalNode =
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'field'; name: string }
  | { k: 'call'; name: string; args: EvalNode[] }
  | { k: 'neg'; e: EvalNode }
  | { k: 'not'; e: EvalNode }
  | { k: 'bin'; op: string; l: EvalNode; r: EvalNode };

export interface MultiValue {
  mv: string[];
}
export type Value = null | string | number | boolean | MultiValue;
type Single = null | string | number | boolean;

// ---------------------------------------------------------------------------------------------
// Parsing

interface Token {
  t: 'str' | 'num' | 'ident' | 'field' | 'op' | 'eof';
  v: string;
  at: number;
}

const WORD_OPS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const error = (what: string): never => fail(`eval '${src}': ${what} at offset ${i}`);
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === '"') {
      let v = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && (src[i + 1] === '"' || src[i + 1] === '\\')) i++;
        v += src[i++];
      }
      if (i >= src.length) error('unterminated string');
      i++;
      out.push({ t: 'str', v, at });
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) error('unterminated quoted field name');
      out.push({ t: 'field', v: src.slice(i + 1, end), at });
      i = end + 1;
    } else if (/[0-9]/.test(c)) {
      const m = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
      m.lastIndex = i;
      const v = (m.exec(src) as RegExpExecArray)[0];
      i += v.length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) error('a name cannot start with a digit');
      out.push({ t: 'num', v, at });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /[A-Za-z_][A-Za-z0-9_]*/y;
      m.lastIndex = i;
      const v = (m.exec(src) as RegExpExecArray)[0];
      i += v.length;
      out.push({ t: WORD_OPS.has(v) ? 'op' : 'ident', v, at });
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '<=', '>='].includes(two)) {
        out.push({ t: 'op', v: two, at });
        i += 2;
      } else if (two === '&&' || two === '||') {
        error(`'${two}' is not Splunk eval syntax (use AND / OR)`);
      } else if ('=<>+-*/%.(),'.includes(c)) {
        out.push({ t: 'op', v: c, at });
        i++;
      } else {
        error(`unexpected character '${c}' (quote field names with special characters: 'a{}.b')`);
      }
    }
  }
  out.push({ t: 'eof', v: '', at: src.length });
  return out;
}

/** Parses an eval expression; throws on any syntax error. */
export function parseEval(src: string): EvalNode {
  const tokens = tokenize(src);
  let p = 0;
  const peek = (): Token => tokens[p];
  const isOp = (...ops: string[]): boolean => peek().t === 'op' && ops.includes(peek().v);
  const error = (what: string): never => fail(`eval '${src}': ${what} at offset ${peek().at}`);
  const expect = (op: string): void => {
    if (!isOp(op)) error(`expected '${op}'`);
    p++;
  };
  const binary = (ops: string[], next: () => EvalNode, nonAssoc = false): EvalNode => {
    let l = next();
    while (isOp(...ops)) {
      const op = tokens[p++].v;
      l = { k: 'bin', op: op === '==' ? '=' : op, l, r: next() };
      if (nonAssoc && isOp(...ops)) error('comparisons cannot be chained');
    }
    return l;
  };
  const orExpr = (): EvalNode => binary(['OR'], xorExpr);
  const xorExpr = (): EvalNode => binary(['XOR'], andExpr);
  const andExpr = (): EvalNode => binary(['AND'], notExpr);
  const notExpr = (): EvalNode => {
    if (isOp('NOT')) {
      p++;
      return { k: 'not', e: notExpr() };
    }
    return binary(['=', '==', '!=', '<', '>', '<=', '>=', 'LIKE'], addExpr, true);
  };
  const addExpr = (): EvalNode => binary(['+', '-', '.'], mulExpr);
  const mulExpr = (): EvalNode => binary(['*', '/', '%'], unary);
  const unary = (): EvalNode => {
    if (isOp('-')) {
      p++;
      return { k: 'neg', e: unary() };
    }
    return primary();
  };
  const primary = (): EvalNode => {
    const tok = tokens[p];
    if (tok.t === 'str') return p++, { k: 'str', v: tok.v };
    if (tok.t === 'num') return p++, { k: 'num', v: Number(tok.v) };
    if (tok.t === 'field') return p++, { k: 'field', name: tok.v };
    if (tok.t === 'ident') {
      p++;
      if (isOp('(')) {
        p++;
        const args: EvalNode[] = [];
        if (!isOp(')')) {
          for (;;) {
            args.push(orExpr());
            if (!isOp(',')) break;
            p++;
          }
        }
        expect(')');
        checkCall(src, tok.v, args);
        return { k: 'call', name: tok.v, args };
      }
      if (['true', 'false', 'null', 'TRUE', 'FALSE', 'NULL'].includes(tok.v)) {
        error(`bare '${tok.v}' is a field name in Splunk; write ${tok.v.toLowerCase()}()`);
      }
      return { k: 'field', name: tok.v };
    }
    if (isOp('(')) {
      p++;
      const e = orExpr();
      expect(')');
      return e;
    }
    return error(tok.t === 'eof' ? 'unexpected end' : `unexpected '${tok.v}'`);
  };
  const root = orExpr();
  if (peek().t !== 'eof') error(`unexpected '${peek().v}'`);
  return root;
}

// name -> [min args, max args]
const ARITY: Record<string, [number, number]> = {
  coalesce: [1, Infinity], if: [3, 3], case: [2, Infinity], in: [2, Infinity], like: [2, 2], match: [2, 2],
  replace: [3, 3], lower: [1, 1], upper: [1, 1], len: [1, 1], trim: [1, 2], ltrim: [1, 2], rtrim: [1, 2],
  substr: [2, 3], split: [2, 2], tostring: [1, 2], tonumber: [1, 2], isnull: [1, 1], isnotnull: [1, 1],
  nullif: [2, 2], true: [0, 0], false: [0, 0], null: [0, 0], spath: [2, 2], mvappend: [1, Infinity],
  mvdedup: [1, 1], mvindex: [2, 3], mvcount: [1, 1], mvjoin: [2, 2], mvfilter: [1, 1], mvmap: [2, 2],
  mvfind: [2, 2],
};

function checkCall(src: string, name: string, args: EvalNode[]): void {
  const arity = ARITY[name];
  if (!arity) fail(`eval '${src}': function ${name}() is not supported by this tool`);
  if (args.length < arity[0] || args.length > arity[1]) fail(`eval '${src}': wrong number of arguments to ${name}()`);
  if (name === 'case' && args.length % 2 !== 0) fail(`eval '${src}': case() takes condition/value pairs`);
  if (name === 'mvfilter' && fieldRefs(args[0]).size !== 1) {
    fail(`eval '${src}': mvfilter() must reference exactly one field`);
  }
  if (name === 'mvmap' && args[0].k !== 'field') fail(`eval '${src}': mvmap()'s first argument must be a field`);
}

/** The field names an expression reads. */
export function fieldRefs(node: EvalNode, out = new Set<string>()): Set<string> {
  if (node.k === 'field') out.add(node.name);
  else if (node.k === 'call') node.args.forEach((a) => fieldRefs(a, out));
  else if (node.k === 'neg' || node.k === 'not') fieldRefs(node.e, out);
  else if (node.k === 'bin') {
    fieldRefs(node.l, out);
    fieldRefs(node.r, out);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

const NUMERIC = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

export function isMv(v: Value): v is MultiValue {
  return typeof v === 'object' && v !== null;
}

function fromList(values: string[]): Value {
  return values.length === 0 ? null : values.length === 1 ? values[0] : { mv: values };
}

function formatNumber(n: number): string {
  return String(n);
}

function single(v: Value, where: string): Single {
  if (isMv(v)) {
    fail(`${where} got a multivalue (${v.mv.length} values: ${JSON.stringify(v.mv.slice(0, 3))}...); reduce it explicitly (mvindex, mvjoin, mvfilter, mvmap, mvfind)`);
  }
  return v;
}

function asNumber(v: Single): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

function asString(v: Value, where: string): string | null {
  const s = single(v, where);
  if (typeof s === 'boolean') fail(`${where} got a boolean where a string is expected`);
  return typeof s === 'number' ? formatNumber(s) : s;
}

function asBool(v: Value, where: string): boolean | null {
  const s = single(v, where);
  if (s !== null && typeof s !== 'boolean') fail(`${where} needs a boolean condition, got ${JSON.stringify(s)}`);
  return s;
}

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

/** Splunk eval values as field values: null -> no field; booleans cannot be stored. */
export function toFieldValues(v: Value, where: string): string[] | null {
  if (v === null) return null;
  if (isMv(v)) return v.mv;
  if (typeof v === 'boolean') return fail(`${where}: a boolean cannot be assigned to a field (wrap it in if())`);
  return [typeof v === 'number' ? formatNumber(v) : v];
}

function compare(op: string, a: Value, b: Value, where: string): boolean | null {
  const x = single(a, `${where} '${op}'`);
  const y = single(b, `${where} '${op}'`);
  if (x === null || y === null) return null;
  if (typeof x === 'boolean' || typeof y === 'boolean') {
    if (typeof x !== typeof y || (op !== '=' && op !== '!=')) fail(`${where}: '${op}' cannot compare a boolean`);
    return op === '=' ? x === y : x !== y;
  }
  const nx = asNumber(x);
  const ny = asNumber(y);
  let c: number;
  if (nx !== null && ny !== null) c = nx < ny ? -1 : nx > ny ? 1 : 0;
  else {
    const sx = typeof x === 'number' ? formatNumber(x) : x;
    const sy = typeof y === 'number' ? formatNumber(y) : y;
    c = sx < sy ? -1 : sx > sy ? 1 : 0;
  }
  switch (op) {
    case '=': return c === 0;
    case '!=': return c !== 0;
    case '<': return c < 0;
    case '>': return c > 0;
    case '<=': return c <= 0;
    default: return c >= 0;
  }
}

function likeRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** Splunk replace(): \1..\9 are group references, \\ a backslash; '$' is literal. */
function expandReplacement(repl: string, groups: Array<string | undefined>): string {
  return repl.replace(/\\(\d|\\)/g, (_, g: string) => (g === '\\' ? '\\' : (groups[Number(g)] ?? '')));
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface Scope {
  fields: Fields;
  src: string;
  bound?: Map<string, string>;
}

/** Evaluates an expression (text or parsed) against an event's fields. */
export function evalExpression(expr: string | EvalNode, fields: Fields): Value {
  const node = typeof expr === 'string' ? parseEval(expr) : expr;
  return run(node, { fields, src: typeof expr === 'string' ? expr : '<expression>' });
}

function readField(name: string, scope: Scope): Value {
  const b = scope.bound?.get(name);
  if (b !== undefined) return b;
  if ((name.startsWith('_') && name !== '_raw') || ['linecount', 'punct', 'splunk_server', 'timestartpos', 'timeendpos'].includes(name) || name.startsWith('date_')) {
    fail(`eval '${scope.src}': field ${name} is a Splunk internal field this tool does not model`);
  }
  return fromList([...(scope.fields.get(name) ?? [])]);
}

function run(node: EvalNode, scope: Scope): Value {
  const where = `eval '${scope.src}':`;
  switch (node.k) {
    case 'str': return node.v;
    case 'num': return node.v;
    case 'field': return readField(node.name, scope);
    case 'neg': {
      const v = single(run(node.e, scope), `${where} unary '-'`);
      if (v === null) return null;
      const n = asNumber(v);
      return n === null ? null : -n;
    }
    case 'not': {
      const v = asBool(run(node.e, scope), `${where} NOT`);
      return v === null ? null : !v;
    }
    case 'bin': return binaryOp(node.op, node.l, node.r, scope, where);
    case 'call': return call(node.name, node.args, scope, where);
  }
}

function binaryOp(op: string, ln: EvalNode, rn: EvalNode, scope: Scope, where: string): Value {
  if (op === 'AND' || op === 'OR' || op === 'XOR') {
    const l = asBool(run(ln, scope), `${where} ${op}`);
    if (op === 'AND' && l === false) return false;
    if (op === 'OR' && l === true) return true;
    const r = asBool(run(rn, scope), `${where} ${op}`);
    if (op === 'AND') return r === false ? false : l === null || r === null ? null : true;
    if (op === 'OR') return r === true ? true : l === null || r === null ? null : false;
    return l === null || r === null ? null : l !== r;
  }
  const l = run(ln, scope);
  const r = run(rn, scope);
  if (['=', '!=', '<', '>', '<=', '>='].includes(op)) return compare(op, l, r, where);
  if (op === 'LIKE') {
    const s = asString(l, `${where} LIKE`);
    const pat = asString(r, `${where} LIKE`);
    return s === null || pat === null ? null : likeRegex(pat).test(s);
  }
  if (op === '.') {
    const a = asString(l, `${where} '.'`);
    const b = asString(r, `${where} '.'`);
    return a === null || b === null ? null : a + b;
  }
  const a = single(l, `${where} '${op}'`);
  const b = single(r, `${where} '${op}'`);
  if (a === null || b === null) return null;
  if (typeof a === 'boolean' || typeof b === 'boolean') fail(`${where} '${op}' on a boolean`);
  const x = asNumber(a);
  const y = asNumber(b);
  if (x === null || y === null) {
    if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
    return null;
  }
  switch (op) {
    case '+': return finite(x + y);
    case '-': return finite(x - y);
    case '*': return finite(x * y);
    case '/': return y === 0 ? null : finite(x / y);
    default: return y === 0 ? null : finite(x % y);
  }
}

function call(name: string, argNodes: EvalNode[], scope: Scope, where: string): Value {
  const at = `${where} ${name}()`;
  const arg = (i: number): Value => run(argNodes[i], scope);
  const str = (i: number): string | null => asString(arg(i), at);
  const int = (i: number): number | null => {
    const v = single(arg(i), at);
    const n = v === null ? null : asNumber(v);
    if (v !== null && (n === null || !Number.isInteger(n))) fail(`${at} needs an integer argument, got ${JSON.stringify(v)}`);
    return n;
  };
  const list = (v: Value): string[] => {
    if (v === null) return [];
    if (isMv(v)) return v.mv;
    const s = asString(v, at);
    return s === null ? [] : [s];
  };
  const regex = (i: number): RegExp | null => {
    const p = str(i);
    return p === null ? null : compileRegex(p, '', at);
  };
  switch (name) {
    case 'true': return true;
    case 'false': return false;
    case 'null': return null;
    case 'coalesce': {
      for (let i = 0; i < argNodes.length; i++) {
        const v = arg(i);
        if (v !== null) return v;
      }
      return null;
    }
    case 'if': return asBool(arg(0), at) === true ? arg(1) : arg(2);
    case 'case': {
      for (let i = 0; i < argNodes.length; i += 2) if (asBool(arg(i), at) === true) return arg(i + 1);
      return null;
    }
    case 'in': {
      const x = single(arg(0), at);
      if (x === null) return null;
      for (let i = 1; i < argNodes.length; i++) if (compare('=', x, arg(i), at) === true) return true;
      return false;
    }
    case 'like': {
      const s = str(0);
      const p = str(1);
      return s === null || p === null ? null : likeRegex(p).test(s);
    }
    case 'match': {
      const s = str(0);
      const re = regex(1);
      return s === null || re === null ? null : re.test(s);
    }
    case 'replace': {
      const s = str(0);
      const re = regex(1);
      const repl = str(2);
      if (s === null || re === null || repl === null) return null;
      const global = new RegExp(re.source, `${re.flags}g`);
      return s.replace(global, (...m: unknown[]) => {
        const groups = m.slice(0, m.findIndex((x) => typeof x === 'number')) as Array<string | undefined>;
        return expandReplacement(repl, groups);
      });
    }
    case 'lower':
    case 'upper': {
      const s = str(0);
      return s === null ? null : name === 'lower' ? s.toLowerCase() : s.toUpperCase();
    }
    case 'len': {
      const s = str(0);
      return s === null ? null : [...s].length;
    }
    case 'trim':
    case 'ltrim':
    case 'rtrim': {
      const s = str(0);
      const chars = argNodes.length > 1 ? str(1) : ' \t';
      if (s === null || chars === null) return null;
      let a = 0;
      let b = s.length;
      if (name !== 'rtrim') while (a < b && chars.includes(s[a])) a++;
      if (name !== 'ltrim') while (b > a && chars.includes(s[b - 1])) b--;
      return s.slice(a, b);
    }
    case 'substr': {
      const s = str(0);
      const start = int(1);
      const len = argNodes.length > 2 ? int(2) : null;
      if (s === null || start === null || (argNodes.length > 2 && len === null)) return null;
      if (start === 0) fail(`${at}: start 0 is ambiguous in Splunk; substr() is 1-based`);
      if (len !== null && len < 0) fail(`${at}: negative length`);
      const chars = [...s];
      const from = start > 0 ? start - 1 : Math.max(0, chars.length + start);
      return chars.slice(from, len === null ? undefined : from + len).join('');
    }
    case 'split': {
      const s = str(0);
      const d = str(1);
      if (s === null || d === null) return null;
      return fromList(d === '' ? [...s] : s.split(d));
    }
    case 'tostring': {
      if (argNodes.length > 1) fail(`${at}: format argument not supported`);
      const v = single(arg(0), at);
      if (typeof v === 'boolean') return v ? 'True' : 'False';
      return typeof v === 'number' ? formatNumber(v) : v;
    }
    case 'tonumber': {
      const s = str(0);
      const base = argNodes.length > 1 ? int(1) : 10;
      if (s === null || base === null) return null;
      if (base === 10) return NUMERIC.test(s) ? Number(s) : null;
      if (base < 2 || base > 36) fail(`${at}: base must be 2..36`);
      const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
      const t = s.trim().toLowerCase();
      if (t === '' || ![...t].every((c) => digits.includes(c))) return null;
      return parseInt(t, base);
    }
    case 'isnull': return arg(0) === null;
    case 'isnotnull': return arg(0) !== null;
    case 'nullif': {
      const a = arg(0);
      return compare('=', a, arg(1), at) === true ? null : a;
    }
    case 'spath': return spath(str(0), str(1), at);
    case 'mvappend': {
      const out: string[] = [];
      for (let i = 0; i < argNodes.length; i++) out.push(...list(arg(i)));
      return fromList(out);
    }
    case 'mvdedup': return fromList([...new Set(list(arg(0)))]);
    case 'mvcount': {
      const values = list(arg(0));
      return values.length === 0 ? null : values.length;
    }
    case 'mvindex': {
      const values = list(arg(0));
      const n = values.length;
      let start = int(1);
      let end = argNodes.length > 2 ? int(2) : start;
      if (n === 0 || start === null || end === null) return null;
      if (start < 0) start += n;
      if (end < 0) end += n;
      if (start < 0 || start >= n || end < start) return null;
      return fromList(values.slice(start, Math.min(end, n - 1) + 1));
    }
    case 'mvjoin': {
      const values = list(arg(0));
      const d = str(1);
      return values.length === 0 || d === null ? null : values.join(d);
    }
    case 'mvfind': {
      const values = list(arg(0));
      const re = regex(1);
      if (re === null) return null;
      const i = values.findIndex((v) => re.test(v));
      return i < 0 ? null : i;
    }
    case 'mvfilter': {
      const pred = argNodes[0];
      const field = [...fieldRefs(pred)][0];
      const kept = list(readField(field, scope)).filter((v) => {
        const bound = new Map(scope.bound ?? []).set(field, v);
        return asBool(run(pred, { ...scope, bound }), at) === true;
      });
      return fromList(kept);
    }
    case 'mvmap': {
      const field = (argNodes[0] as { name: string }).name;
      const out: string[] = [];
      for (const v of list(readField(field, scope))) {
        const bound = new Map(scope.bound ?? []).set(field, v);
        out.push(...list(run(argNodes[1], { ...scope, bound })));
      }
      return fromList(out);
    }
    default:
      return fail(`${at} is not supported`);
  }
}

/** spath(json_text, path) for leaf paths (`a.b`, `a{}.b`); indexed paths (`a{1}`) and paths to objects throw. */
function spath(input: string | null, path: string | null, at: string): Value {
  if (input === null || path === null) return null;
  if (/\{\d+\}/.test(path)) fail(`${at}: indexed spath paths are not supported`);
  let root;
  try {
    root = parseJson(input, 'spath input');
  } catch {
    return null;
  }
  const flat: Fields = new Map();
  flattenJson(root, '', flat);
  if ([...flat.keys()].some((k) => k !== path && (k.startsWith(`${path}.`) || k.startsWith(`${path}{}`)))) {
    fail(`${at}: path '${path}' selects an object or array of objects (Splunk returns its JSON text); not modelled`);
  }
  return fromList(flat.get(path) ?? []);
}
