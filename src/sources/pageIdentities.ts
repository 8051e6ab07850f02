import { scanArray } from './rawJson.js';

/**
 * The pure part of reading a list page for its items' identities, shared by the page worker and
 * the in-thread fallback (pageParser.ts): where each element of `value` lies, the page's other
 * members, and each element reduced to `id` and its time property. Every byte is still parsed.
 */

/** A body (or one of its elements) that JSON.parse refused. */
export class InvalidJsonError extends Error {
  constructor() {
    super('Response body is not valid JSON');
  }
}

export interface PageLayout {
  /** The body's top-level members, `value` emptied ([]): count, nextLink. */
  skeleton: unknown;
  /** Byte offsets of each element of `value`: [starts[i], ends[i]). */
  starts: Int32Array;
  ends: Int32Array;
}

/** Undefined when the body has no top-level `value` array (callers parse it whole). */
export function layoutOf(bytes: Buffer): PageLayout | undefined {
  const span = scanArray(bytes, 'value');
  if (!span) return undefined;
  let skeleton: unknown;
  try {
    skeleton = JSON.parse(bytes.toString('utf8', 0, span.start) + '[]' + bytes.toString('utf8', span.end));
  } catch {
    throw new InvalidJsonError();
  }
  const starts = new Int32Array(span.elements.length);
  const ends = new Int32Array(span.elements.length);
  span.elements.forEach((element, i) => {
    starts[i] = element.byteOffset - bytes.byteOffset;
    ends[i] = starts[i] + element.length;
  });
  return { skeleton, starts, ends };
}

/**
 * Element `i` parsed, kept as `{ id, <timeProperty> }` when it is an object (anything else as it
 * is): the parsed graph dies at once instead of a whole page's (~15 MB for 1000 alerts) being kept.
 *
 * The element is read as Latin-1 first, one character per byte: V8 then builds and parses a
 * one-byte string, where UTF-8 text with any non-ASCII character (most alerts have some) makes a
 * two-byte string, slower to build and to parse (measured on simulated alerts: 14 ms per
 * 1000-alert page against 28.5 ms). Both readings accept exactly the same elements: UTF-8
 * sequences use only bytes >= 0x80, which JSON allows in strings alone, so the structure read is
 * the same (UTF-8 itself is checked where events are written, see xmlContentBytes). Values that
 * could differ are the non-ASCII ones; when `id` or the time holds one, or the element is not an
 * object, the element is read again as UTF-8.
 */
export function identityAt(bytes: Buffer, layout: PageLayout, i: number, timeProperty: string): unknown {
  const item = parseElement(bytes, layout, i, 'latin1');
  if (isRecord(item)) {
    const identity = identityOf(item, timeProperty);
    if (sameInUtf8(identity.id) && sameInUtf8(identity[timeProperty])) return identity;
  }
  const exact = parseElement(bytes, layout, i, 'utf8');
  return isRecord(exact) ? identityOf(exact, timeProperty) : exact;
}

function parseElement(bytes: Buffer, layout: PageLayout, i: number, encoding: 'latin1' | 'utf8'): unknown {
  try {
    return JSON.parse(bytes.toString(encoding, layout.starts[i], layout.ends[i]));
  } catch {
    throw new InvalidJsonError();
  }
}

function isRecord(item: unknown): item is Record<string, unknown> {
  return typeof item === 'object' && item !== null && !Array.isArray(item);
}

function identityOf(item: Record<string, unknown>, timeProperty: string): Record<string, unknown> {
  const { id, [timeProperty]: time } = item;
  return { id, [timeProperty]: time };
}

const NON_ASCII = /[^\u0000-\u007f]/;

/** A value read from Latin-1 that UTF-8 would have read the same: no string in it beyond ASCII. */
function sameInUtf8(value: unknown): boolean {
  if (typeof value === 'string') return !NON_ASCII.test(value);
  return value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean';
}

/** Elements parsed between two turns of the event loop, so I/O (and other pages) get in between. */
export const PARSE_BATCH = 100;

/** The message pageParser.ts sends pageWorker.ts. */
export interface ParseJob {
  kind: 'parse';
  job: number;
  /** The body, transferred (not copied) to the worker and back: its first `length` bytes. */
  buffer: ArrayBuffer;
  length: number;
  timeProperty: string;
}

export type ParseReply =
  /** Loaded: pages may be sent. */
  | { kind: 'ready' }
  /** As soon as the body is laid out: what the pager needs to ask for the next page. */
  | { job: number; kind: 'head'; skeleton: unknown; starts: Int32Array; ends: Int32Array; last: unknown }
  /** Every element's identity, in order, with the body back. */
  | { job: number; kind: 'items'; buffer: ArrayBuffer; identities: unknown[] }
  /** No top-level `value` array: the body back, to be parsed whole. */
  | { job: number; kind: 'whole'; buffer: ArrayBuffer }
  | { job: number; kind: 'invalid'; buffer: ArrayBuffer };
