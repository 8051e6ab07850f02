/**
 * The search syntax of eventtypes.conf `search =`:
 * - `field=value`, `field="value"`, `"field name"=value`, `field!=value`, `field=*` (exists);
 *   values match case-insensitively, `*` is a wildcard; a multivalue field matches `field=value`
 *   when any value matches. `field!=value` requires the field (a missing field does not match;
 *   `NOT field=value` does) and THROWS on a multivalue field (ambiguous in Splunk).
 * - Free text (`word`, `"a phrase"`, with `*` wildcards) matches _raw case-insensitively where
 *   it is not glued to letters/digits on either side (an approximation of Splunk's segmentation).
 * - Implicit AND, `AND`, `OR`, `NOT`, parentheses. As in Splunk, OR binds tighter than AND:
 *   `a b OR c` is `a AND (b OR c)`.
 * - Throws on pipes, subsearches, macros, comparisons (< > <= >=), TERM()/CASE(), `eventtype=`
 *   and `tag=` terms, `field::value`, and lower-case and/or/not (free text in Splunk, almost
 *   always a mistake).
 */
import { fail, type Fields } from './errors.js';

export type SearchNode =
  | { k: 'and' | 'or'; items: SearchNode[] }
  | { k: 'not'; e: SearchNode }
  | { k: 'field'; field: string; op: '=' | '!='; value: string }
  | { k: 'text'; value: string };

interface Tok {
  t: 'word' | '(' | ')';
  v: string;
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c, v: c });
      i++;
    } else {
      let w = '';
      while (i < src.length && !/[\s()]/.test(src[i])) {
        if (src[i] === '"') {
          const start = i++;
          while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
          if (i >= src.length) fail(`search '${src}': unterminated quote`);
          w += src.slice(start, ++i);
        } else {
          if ('|[`'.includes(src[i])) fail(`search '${src}': '${src[i]}' (pipe, subsearch or macro) is not allowed in an eventtype`);
          w += src[i++];
        }
      }
      if (src[i] === '(') fail(`search '${src}': function-style term '${w}(' (TERM, CASE, ...) is not supported`);
      out.push({ t: 'word', v: w });
    }
  }
  return out;
}

function unquote(s: string, src: string): string {
  if (!s.startsWith('"')) {
    if (s.includes('"')) fail(`search '${src}': stray quote in '${s}'`);
    return s;
  }
  if (!s.endsWith('"') || s.length < 2) fail(`search '${src}': text after a closing quote in '${s}'`);
  const body = s.slice(1, -1);
  if (/(^|[^\\])"/.test(body.replace(/\\\\/g, ''))) fail(`search '${src}': text after a closing quote in '${s}'`);
  return body.replace(/\\(["\\])/g, '$1');
}

function parseTerm(w: string, src: string): SearchNode {
  // Find the first '=' outside quotes.
  let inQuote = false;
  let eq = -1;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === '"' && w[i - 1] !== '\\') inQuote = !inQuote;
    else if (!inQuote && '<>'.includes(w[i])) fail(`search '${src}': comparison in '${w}' is not supported`);
    else if (!inQuote && w[i] === '=' && eq < 0) eq = i;
  }
  if (eq < 0) {
    if (['and', 'or', 'not', 'And', 'Or', 'Not'].includes(w)) fail(`search '${src}': '${w}' is a search term in Splunk, not an operator; write it in upper case`);
    if (w.includes('::')) fail(`search '${src}': '${w}' (field::value) is not supported`);
    const text = unquote(w, src);
    if (text === '') fail(`search '${src}': empty term`);
    return { k: 'text', value: text };
  }
  const neg = eq > 0 && w[eq - 1] === '!';
  const lhs = w.slice(0, neg ? eq - 1 : eq);
  const rhs = w.slice(eq + 1);
  if (lhs === '' || rhs === '') fail(`search '${src}': incomplete term '${w}' (no spaces around '=' allowed)`);
  if (rhs.startsWith('=')) fail(`search '${src}': '==' in '${w}' is not search syntax`);
  const field = unquote(lhs, src);
  if (field === 'eventtype' || field === 'tag' || field.startsWith('tag::')) {
    fail(`search '${src}': '${field}=' terms are not modelled (eventtypes are matched before tags exist)`);
  }
  if (/[\s=!]/.test(field)) fail(`search '${src}': bad field name '${field}'`);
  return { k: 'field', field, op: neg ? '!=' : '=', value: unquote(rhs, src) };
}

/** Parses an eventtype search; throws on unsupported syntax. */
export function parseSearch(src: string): SearchNode {
  const toks = tokenize(src);
  let p = 0;
  const isWord = (v: string): boolean => toks[p]?.t === 'word' && toks[p].v === v;
  const startsOperand = (): boolean => p < toks.length && toks[p].t !== ')' && !isWord('OR') && !isWord('AND');
  const andExpr = (): SearchNode => {
    const items = [orExpr()];
    while (p < toks.length && toks[p].t !== ')') {
      if (isWord('AND')) p++;
      if (!startsOperand()) fail(`search '${src}': dangling operator`);
      items.push(orExpr());
    }
    return items.length === 1 ? items[0] : { k: 'and', items };
  };
  const orExpr = (): SearchNode => {
    const items = [notExpr()];
    while (isWord('OR')) {
      p++;
      if (!startsOperand()) fail(`search '${src}': dangling OR`);
      items.push(notExpr());
    }
    return items.length === 1 ? items[0] : { k: 'or', items };
  };
  const notExpr = (): SearchNode => {
    if (isWord('NOT')) {
      p++;
      if (!startsOperand()) fail(`search '${src}': dangling NOT`);
      return { k: 'not', e: notExpr() };
    }
    const tok = toks[p];
    if (!tok) return fail(`search '${src}': unexpected end`);
    if (tok.t === '(') {
      p++;
      if (toks[p]?.t === ')') fail(`search '${src}': empty parentheses`);
      const e = andExpr();
      if (toks[p]?.t !== ')') fail(`search '${src}': missing ')'`);
      p++;
      return e;
    }
    if (tok.t === ')' || isWord('OR') || isWord('AND')) fail(`search '${src}': unexpected '${tok.v}'`);
    p++;
    return parseTerm(tok.v, src);
  };
  if (toks.length === 0) fail(`search '${src}': empty search`);
  const root = andExpr();
  if (p < toks.length) fail(`search '${src}': unexpected '${toks[p].v}'`);
  return root;
}

function wildcard(value: string): string {
  return value
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

function evalNode(node: SearchNode, fields: Fields, src: string): boolean {
  switch (node.k) {
    case 'and': return node.items.every((n) => evalNode(n, fields, src));
    case 'or': return node.items.some((n) => evalNode(n, fields, src));
    case 'not': return !evalNode(node.e, fields, src);
    case 'text': {
      const re = new RegExp(`(?<![A-Za-z0-9])${wildcard(node.value)}(?![A-Za-z0-9])`, 'is');
      return re.test((fields.get('_raw') ?? []).join('\n'));
    }
    case 'field': {
      const values = fields.get(node.field) ?? [];
      const re = new RegExp(`^${wildcard(node.value)}$`, 'is');
      if (node.op === '=') return values.some((v) => re.test(v));
      if (values.length > 1) fail(`search '${src}': '${node.field}!=' on a multivalue field is ambiguous; use NOT ${node.field}=...`);
      return values.length === 1 && !re.test(values[0]);
    }
  }
}

/** Whether an event's fields match a search (text or parsed). */
export function matchesSearch(search: string | SearchNode, fields: Fields): boolean {
  const node = typeof search === 'string' ? parseSearch(search) : search;
  return evalNode(node, fields, typeof search === 'string' ? search : '<search>');
}
