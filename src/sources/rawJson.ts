/**
 * An API item's JSON exactly as the server wrote it. Re-serialising every parsed item cost as
 * much CPU as parsing the page and doubled the garbage per page; the page text already holds
 * each item's JSON, so events reuse those substrings (which also keeps the server's bytes).
 */

const rawText = new WeakMap<object, string>();

/** The raw JSON of an item read from a page, if it is still the object parsed from that page. */
export function rawJsonOf(item: object): string | undefined {
  return rawText.get(item);
}

/**
 * Remembers each element's text for its parsed object. Only objects: a copy made later (e.g. an
 * incident with its alerts added) is a new object and gets serialised from its current state.
 */
export function rememberRawJson(items: readonly unknown[], texts: readonly string[] | undefined): void {
  if (!texts || texts.length !== items.length) return;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'object' && item !== null) rawText.set(item, texts[i]);
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

/**
 * The texts of the elements of the array at top-level property `key` of a JSON document that
 * JSON.parse has already accepted. Strings are skipped with indexOf, so the scan costs little more
 * than a pass over the structure. Undefined when the document is not such an object; the last
 * occurrence of a repeated key wins, as with JSON.parse.
 */
export function arrayElementTexts(text: string, key: string): string[] | undefined {
  return scanArray(text, key)?.texts;
}

export interface ArraySpan {
  texts: string[];
  /** Index of the array's `[` and just after its `]`. */
  start: number;
  end: number;
}

/** Like arrayElementTexts, with where the array sits in the document. */
export function scanArray(text: string, key: string): ArraySpan | undefined {
  let depth = 0;
  let span: ArraySpan | undefined;
  let arrayStart = -1;
  let lastString = '';
  let lastKey = '';
  let current: string[] | undefined;
  let elementStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && escaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return undefined;
      if (depth === 1) lastString = text.slice(i + 1, end);
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 1 && c === OPEN_BRACKET && lastKey === key) {
        current = [];
        arrayStart = i;
        elementStart = i + 1;
      }
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 1 && current) {
        const last = text.slice(elementStart, i).trim();
        if (last) current.push(last);
        span = { texts: current, start: arrayStart, end: i + 1 };
        current = undefined;
      }
    } else if (c === COMMA) {
      if (depth === 2 && current) {
        current.push(text.slice(elementStart, i).trim());
        elementStart = i + 1;
      }
    } else if (c === COLON && depth === 1) {
      lastKey = lastString;
    }
  }
  return span;
}

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escaped(text: string, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && text.charCodeAt(i) === BACKSLASH; i--) n++;
  return n % 2 === 1;
}
