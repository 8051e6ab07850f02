/**
 * A small OData v4 `$filter` parser and evaluator, covering what Microsoft Graph's
 * security lists accept: comparisons (eq ne gt ge lt le) of a property with a literal,
 * `and`, `or` and parentheses. Literals: unquoted DateTimeOffset values
 * (`2024-05-01T10:11:12.1234567Z`), single-quoted strings (`''` escapes a quote), `null`,
 * numbers and booleans. `not`, lambda operators and functions are rejected, except
 * `startswith(property,'prefix')` on a string property whose schema allows it (Defender for
 * Endpoint's machines API documents it for computerDnsName).
 *
 * Errors are thrown as {@link ODataFilterError}; the server turns them into Graph's 400
 * "Invalid filter clause: …" response.
 */

export type FieldSpec =
  /** startsWith: the API accepts startswith(property,'…') on it. */
  | { type: 'string'; startsWith?: boolean }
  | { type: 'datetime' }
  /** Enum members compare case-insensitively; a literal outside `members` is a 400, as in Graph. */
  | { type: 'enum'; members: readonly string[] };

/** Filterable properties of one entity type, keyed by property name. */
export interface FilterSchema {
  /** OData type name used in error messages, e.g. `microsoft.graph.security.alert`. */
  typeName: string;
  fields: Readonly<Record<string, FieldSpec>>;
}

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type Literal =
  | { kind: 'datetime'; text: string; ticks: bigint }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'compare'; op: ComparisonOperator; property: string; field: FieldSpec; literal: Literal }
  | { kind: 'startswith'; property: string; prefix: string };

export class ODataFilterError extends Error {
  override readonly name = 'ODataFilterError';
}

// ---------------------------------------------------------------------------------------
// Instants with 100 ns precision

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Converts an ISO 8601 instant with 0–7 fractional digits to 100 ns ticks since the Unix
 * epoch. `Date.parse` alone would drop everything below a millisecond, which matters when
 * clients page with `lastUpdateDateTime gt <last value seen>`.
 */
// Every list request compares every stored timestamp; parsing each once keeps large backlogs fast.
const ticksCache = new Map<string, bigint | undefined>();

export function toTicks(iso: string): bigint | undefined {
  if (ticksCache.has(iso)) return ticksCache.get(iso);
  if (ticksCache.size > 4_000_000) ticksCache.clear();
  const ticks = parseTicks(iso);
  ticksCache.set(iso, ticks);
  return ticks;
}

function parseTicks(iso: string): bigint | undefined {
  const m = ISO_INSTANT.exec(iso);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  const base = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone.toUpperCase()}`;
  const ms = Date.parse(base);
  if (Number.isNaN(ms) || !sameCalendarFields(base, ms, zone)) return undefined;
  return BigInt(ms) * 10_000n + BigInt(frac.padEnd(7, '0'));
}

/** Rejects values such as Feb 30 that `Date.parse` silently rolls over. */
function sameCalendarFields(base: string, ms: number, zone: string): boolean {
  if (zone.toUpperCase() !== 'Z') return true; // offsets shift the fields; accept them as parsed
  return new Date(ms).toISOString().slice(0, 19) === base.slice(0, 19);
}

/** Formats ticks as Graph does: UTC, always 7 fractional digits. */
export function formatTicks(ticks: bigint): string {
  const ms = ticks / 10_000n;
  const sub = ticks % 10_000n;
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 23)}${sub.toString().padStart(4, '0')}Z`;
}

/** Compares two ISO instants at 100 ns precision; unparsable values sort first. */
export function compareInstants(a: string, b: string): number {
  const ta = toTicks(a) ?? -1n;
  const tb = toTicks(b) ?? -1n;
  return ta < tb ? -1 : ta > tb ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { kind: 'lparen' | 'rparen' | 'comma' | 'end'; pos: number }
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'literal'; literal: Literal; pos: number };

const DATETIME_TOKEN = /\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})/iy;
const NUMBER_TOKEN = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD_TOKEN = /[A-Za-z_][A-Za-z0-9_]*/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (/\s/.test(ch)) {
      pos++;
    } else if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'lparen' : 'rparen', pos });
      pos++;
    } else if (ch === ',') {
      tokens.push({ kind: 'comma', pos });
      pos++;
    } else if (ch === "'") {
      const { value, next } = readQuoted(text, pos);
      tokens.push({ kind: 'literal', literal: { kind: 'string', value }, pos });
      pos = next;
    } else {
      const token = readBareToken(text, pos);
      tokens.push(token.token);
      pos = token.next;
    }
  }
  tokens.push({ kind: 'end', pos: text.length });
  return tokens;
}

function readQuoted(text: string, start: number): { value: string; next: number } {
  let value = '';
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === "'") {
      if (text[pos + 1] === "'") {
        value += "'";
        pos += 2;
        continue;
      }
      return { value, next: pos + 1 };
    }
    value += ch;
    pos++;
  }
  throw syntaxError(text, start, 'unterminated string literal');
}

function readBareToken(text: string, pos: number): { token: Token; next: number } {
  const dt = matchAt(DATETIME_TOKEN, text, pos);
  if (dt) {
    const ticks = toTicks(dt);
    if (ticks === undefined) {
      throw new ODataFilterError(`The DateTimeOffset text '${dt}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.`);
    }
    return { token: { kind: 'literal', literal: { kind: 'datetime', text: dt, ticks }, pos }, next: pos + dt.length };
  }
  const num = matchAt(NUMBER_TOKEN, text, pos);
  if (num) {
    return { token: { kind: 'literal', literal: { kind: 'number', value: Number(num) }, pos }, next: pos + num.length };
  }
  const word = matchAt(WORD_TOKEN, text, pos);
  if (word) return { token: wordToken(word, pos), next: pos + word.length };
  throw syntaxError(text, pos, `unexpected character '${text[pos]}'`);
}

function wordToken(word: string, pos: number): Token {
  switch (word.toLowerCase()) {
    case 'null':
      return { kind: 'literal', literal: { kind: 'null' }, pos };
    case 'true':
    case 'false':
      return { kind: 'literal', literal: { kind: 'boolean', value: word.toLowerCase() === 'true' }, pos };
    default:
      return { kind: 'word', text: word, pos };
  }
}

function matchAt(re: RegExp, text: string, pos: number): string | undefined {
  re.lastIndex = pos;
  return re.exec(text)?.[0];
}

function syntaxError(text: string, pos: number, detail: string): ODataFilterError {
  return new ODataFilterError(`Syntax error at position ${pos} in '${text}' (${detail}).`);
}

// ---------------------------------------------------------------------------------------
// Parser (recursive descent: or < and < primary)

const OPERATORS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

const OPERATOR_KIND: Record<ComparisonOperator, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

class Parser {
  private index = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
    private readonly schema: FilterSchema,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'end') throw syntaxError(this.text, rest.pos, 'unexpected token');
    return node;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.index++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parsePrimary();
    while (this.isKeyword('and')) {
      this.index++;
      left = { kind: 'and', left, right: this.parsePrimary() };
    }
    return left;
  }

  private parsePrimary(): FilterNode {
    const token = this.next();
    if (token.kind === 'lparen') {
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== 'rparen') throw syntaxError(this.text, close.pos, "')' expected");
      return inner;
    }
    if (token.kind !== 'word') throw syntaxError(this.text, token.pos, 'property name expected');
    if (token.text.toLowerCase() === 'not') {
      throw new ODataFilterError("The operator 'not' is not supported for this resource.");
    }
    if (this.peek().kind === 'lparen' && token.text.toLowerCase() === 'startswith') return this.parseStartsWith();
    if (this.peek().kind === 'lparen') {
      throw new ODataFilterError(`An unknown function with name '${token.text}' was found.`);
    }
    return this.parseComparison(token.text);
  }

  private parseStartsWith(): FilterNode {
    this.next(); // (
    const name = this.next();
    if (name.kind !== 'word') throw syntaxError(this.text, name.pos, 'property name expected');
    const property = this.resolveProperty(name.text);
    const field = this.schema.fields[property]!;
    if (field.type !== 'string' || !field.startsWith) throw new ODataFilterError(`The function 'startswith' is not supported for property '${property}'.`);
    const comma = this.next();
    if (comma.kind !== 'comma') throw syntaxError(this.text, comma.pos, "',' expected");
    const lit = this.next();
    if (lit.kind !== 'literal' || lit.literal.kind !== 'string') throw syntaxError(this.text, lit.pos, 'string literal expected');
    const close = this.next();
    if (close.kind !== 'rparen') throw syntaxError(this.text, close.pos, "')' expected");
    return { kind: 'startswith', property, prefix: lit.literal.value };
  }

  private parseComparison(name: string): FilterNode {
    const property = this.resolveProperty(name);
    const opToken = this.next();
    if (opToken.kind !== 'word' || !OPERATORS.has(opToken.text.toLowerCase())) {
      throw syntaxError(this.text, opToken.pos, `comparison operator expected after '${name}'`);
    }
    const op = opToken.text.toLowerCase() as ComparisonOperator;
    const litToken = this.next();
    if (litToken.kind !== 'literal') throw syntaxError(this.text, litToken.pos, 'literal expected');
    const field = this.schema.fields[property]!;
    checkTypes(field, litToken.literal, op);
    return { kind: 'compare', op, property, field, literal: litToken.literal };
  }

  /** Graph matches property names case-insensitively. */
  private resolveProperty(name: string): string {
    const found = Object.keys(this.schema.fields).find((k) => k.toLowerCase() === name.toLowerCase());
    if (!found) {
      throw new ODataFilterError(`Could not find a property named '${name}' on type '${this.schema.typeName}'.`);
    }
    return found;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text.toLowerCase() === word;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    const t = this.tokens[this.index]!;
    if (t.kind !== 'end') this.index++;
    return t;
  }
}

function edmType(field: FieldSpec): string {
  return field.type === 'datetime' ? 'Edm.DateTimeOffset' : field.type === 'enum' ? 'Edm.Enum' : 'Edm.String';
}

function literalEdmType(lit: Literal): string {
  switch (lit.kind) {
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'string':
      return 'Edm.String';
    case 'number':
      return Number.isInteger(lit.value) ? 'Edm.Int32' : 'Edm.Double';
    case 'boolean':
      return 'Edm.Boolean';
    case 'null':
      return '<null>';
  }
}

/** Mirrors OData's type check: a quoted datetime or an unquoted string is a 400, not a silent mismatch. */
function checkTypes(field: FieldSpec, lit: Literal, op: ComparisonOperator): void {
  if (lit.kind === 'null') return;
  const ok = field.type === 'datetime' ? lit.kind === 'datetime' : lit.kind === 'string';
  if (!ok) {
    throw new ODataFilterError(
      `A binary operator with incompatible types was detected. Found operand types '${edmType(field)}' and '${literalEdmType(lit)}' for operator kind '${OPERATOR_KIND[op]}'.`,
    );
  }
  if (field.type === 'enum' && lit.kind === 'string') {
    const member = field.members.find((m) => m.toLowerCase() === lit.value.toLowerCase());
    if (!member) throw new ODataFilterError(`The string '${lit.value}' is not a valid enumerated type constant.`);
  }
}

export function parseFilter(text: string, schema: FilterSchema): FilterNode {
  if (text.trim() === '') throw new ODataFilterError('The $filter expression must not be empty.');
  return new Parser(text, tokenize(text), schema).parse();
}

// ---------------------------------------------------------------------------------------
// Evaluation

/** Evaluates against a plain JSON document (property values read by name). */
export function evaluateFilter(node: FilterNode, item: object): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateFilter(node.left, item) && evaluateFilter(node.right, item);
    case 'or':
      return evaluateFilter(node.left, item) || evaluateFilter(node.right, item);
    case 'compare':
      return compareNode(node.op, node.field, (item as Record<string, unknown>)[node.property], node.literal);
    case 'startswith': {
      const value = (item as Record<string, unknown>)[node.property];
      return typeof value === 'string' && value.startsWith(node.prefix);
    }
  }
}

function compareNode(op: ComparisonOperator, field: FieldSpec, raw: unknown, lit: Literal): boolean {
  const left = normalize(field, raw);
  const right = lit.kind === 'null' ? null : normalizeLiteral(field, lit);
  if (left === null || right === null) {
    // OData null semantics: only eq/ne are meaningful; ordering against null is false.
    if (op === 'eq') return left === right;
    if (op === 'ne') return left !== right;
    return false;
  }
  const cmp = left < right ? -1 : left > right ? 1 : 0;
  return applyOperator(op, cmp);
}

function applyOperator(op: ComparisonOperator, cmp: number): boolean {
  switch (op) {
    case 'eq':
      return cmp === 0;
    case 'ne':
      return cmp !== 0;
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
  }
}

type Comparable = bigint | string | null;

function normalize(field: FieldSpec, raw: unknown): Comparable {
  if (raw === null || raw === undefined) return null;
  if (field.type === 'datetime') return typeof raw === 'string' ? (toTicks(raw) ?? null) : null;
  const text = String(raw);
  return field.type === 'enum' ? text.toLowerCase() : text;
}

function normalizeLiteral(field: FieldSpec, lit: Literal): Comparable {
  if (lit.kind === 'datetime') return lit.ticks;
  if (lit.kind === 'string') return field.type === 'enum' ? lit.value.toLowerCase() : lit.value;
  return null; // excluded by checkTypes
}
