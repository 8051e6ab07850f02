/**
 * An API item's JSON exactly as the server sent it. Re-serialising every parsed item cost as
 * much CPU as parsing the page and doubled the garbage per page; the response body already holds
 * each item's JSON, so events reuse those bytes (zero-copy views of the body).
 */

const rawBytes = new WeakMap<object, Buffer>();

/** The raw JSON of an item read from a page, if it is still the object parsed from that page. */
export function rawJsonOf(item: object): Buffer | undefined {
  return rawBytes.get(item);
}

/**
 * Remembers each element's bytes for its parsed object. Only objects: a copy made later (e.g. an
 * incident with its alerts added) is a new object and gets serialised from its current state.
 */
export function rememberRawJson(items: readonly unknown[], elements: readonly Buffer[] | undefined): void {
  if (!elements || elements.length !== items.length) return;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'object' && item !== null) rawBytes.set(item, elements[i]);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

export interface ArraySpan {
  /** Each element's bytes, trimmed of JSON whitespace; views of the document, not copies. */
  elements: Buffer[];
  /** Offset of the array's `[` and just after its `]`. */
  start: number;
  end: number;
}

/**
 * Finds the elements of the array at top-level property `key` of a UTF-8 JSON document. The bytes
 * of a multi-byte UTF-8 character are all >= 0x80, so the structure can be read byte by byte;
 * strings are skipped with indexOf. Undefined when the document is not such an object (the caller
 * then parses it whole and fails as JSON.parse does); the last occurrence of a repeated key wins,
 * as with JSON.parse. Elements are not validated here: callers parse each one.
 */
export function scanArray(bytes: Buffer, key: string): ArraySpan | undefined {
  let depth = 0;
  let stringStart = -1;
  let stringEnd = -1;
  let keyMatches = false;
  let span: ArraySpan | undefined;
  let current: Buffer[] | undefined;
  let arrayStart = -1;
  let elementStart = -1;
  const keyBytes = Buffer.from(key, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      let end = bytes.indexOf(QUOTE, i + 1);
      while (end !== -1 && escaped(bytes, end)) end = bytes.indexOf(QUOTE, end + 1);
      if (end === -1) return undefined;
      if (depth === 1) {
        stringStart = i + 1;
        stringEnd = end;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 1 && c === OPEN_BRACKET && keyMatches) {
        current = [];
        arrayStart = i;
        elementStart = i + 1;
      }
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 1 && current) {
        const last = trimmed(bytes, elementStart, i);
        if (last.length) current.push(last);
        span = { elements: current, start: arrayStart, end: i + 1 };
        current = undefined;
      }
    } else if (c === COMMA) {
      if (depth === 2 && current) {
        current.push(trimmed(bytes, elementStart, i));
        elementStart = i + 1;
      }
    } else if (c === COLON && depth === 1) {
      keyMatches = stringEnd - stringStart === keyBytes.length && keyBytes.equals(bytes.subarray(stringStart, stringEnd));
    }
  }
  return span;
}

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escaped(bytes: Buffer, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && bytes[i] === BACKSLASH; i--) n++;
  return n % 2 === 1;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR;
}

function trimmed(bytes: Buffer, start: number, end: number): Buffer {
  while (start < end && isSpace(bytes[start])) start++;
  while (end > start && isSpace(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}
