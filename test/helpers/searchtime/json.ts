/**
 * KV_MODE = json: Splunk's search-time JSON extraction.
 * - Nested object keys are joined with '.', array levels add '{}' (`evidence{}.deviceDnsName`,
 *   arrays of arrays give `a{}{}`); every leaf value is appended to its path's multi-value list in
 *   document order (duplicates kept).
 * - Leaves become strings: strings decoded, numbers as their exact JSON text (no re-formatting),
 *   booleans `true`/`false`, and JSON null as the string `null` (ASSUMPTION: Splunk shows null
 *   leaves as the literal text "null" rather than omitting the field; confs must treat "null" as
 *   missing, e.g. `coalesce(nullif(x,"null"), y)` or `mvfilter(x!="null")`).
 * - Empty strings are kept as empty values (ASSUMPTION); empty arrays/objects produce no field.
 * - Invalid JSON or a top-level non-object throws (Splunk would silently extract nothing: for this
 *   add-on that is a bug worth failing on).
 */
import { fail, type Fields } from './errors.js';

export type JsonNode =
  | { kind: 'scalar'; text: string }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'object'; entries: Array<[string, JsonNode]> };

export function parseJson(text: string, context = '_raw'): JsonNode {
  let pos = 0;
  const error = (what: string): never => fail(`${context} is not valid JSON at offset ${pos}: ${what}`);
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, pos)) pos += word.length;
    else error(`unexpected '${text.slice(pos, pos + 10)}'`);
  };
  const string = (): string => {
    pos++; // opening quote
    let out = '';
    for (;;) {
      if (pos >= text.length) error('unterminated string');
      const c = text[pos++];
      if (c === '"') return out;
      if (c < ' ') error('control character in string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos, pos + 4))) {
        out += String.fromCharCode(parseInt(text.slice(pos, pos + 4), 16));
        pos += 4;
      } else error(`bad escape \\${e}`);
    }
  };
  const value = (): JsonNode => {
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const entries: Array<[string, JsonNode]> = [];
      ws();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', entries };
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') error('expected a key');
        const key = string();
        ws();
        if (text[pos++] !== ':') error("expected ':'");
        entries.push([key, value()]);
        ws();
        const sep = text[pos++];
        if (sep === '}') return { kind: 'object', entries };
        if (sep !== ',') error("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const items: JsonNode[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        const sep = text[pos++];
        if (sep === ']') return { kind: 'array', items };
        if (sep !== ',') error("expected ',' or ']'");
      }
    }
    if (c === '"') return { kind: 'scalar', text: string() };
    for (const word of ['true', 'false', 'null']) {
      if (c === word[0]) {
        literal(word);
        return { kind: 'scalar', text: word };
      }
    }
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = pos;
    const m = num.exec(text);
    if (!m) return error(`unexpected ${c === undefined ? 'end of text' : `'${c}'`}`);
    pos += m[0].length;
    return { kind: 'scalar', text: m[0] };
  };
  const root = value();
  ws();
  if (pos < text.length) error('trailing text after the document');
  return root;
}

/** Appends every leaf under `node` to `out`, keyed by its Splunk path. */
export function flattenJson(node: JsonNode, path: string, out: Fields): void {
  if (node.kind === 'scalar') {
    const list = out.get(path);
    if (list) list.push(node.text);
    else out.set(path, [node.text]);
  } else if (node.kind === 'array') {
    for (const item of node.items) flattenJson(item, `${path}{}`, out);
  } else {
    for (const [key, child] of node.entries) flattenJson(child, path === '' ? key : `${path}.${key}`, out);
  }
}

/** Fields Splunk's KV_MODE = json extracts from a raw event (see the module comment). */
export function extractJson(raw: string): Fields {
  const root = parseJson(raw);
  if (root.kind !== 'object') fail('_raw is JSON but not an object; Splunk extraction of top-level arrays/scalars is not modelled');
  const out: Fields = new Map();
  flattenJson(root, '', out);
  return out;
}
