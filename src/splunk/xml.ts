/**
 * XML text helpers for the modular-input stream. Hand-written because they run once
 * per event on the hot path; parsing (config XML) uses fast-xml-parser instead.
 */

// Everything XML 1.0 forbids: C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF.
// Real alerts carry such characters (command lines), and one of them would make splunkd
// drop the whole stream, so they are removed rather than escaped (XML has no escape for them).
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SPECIAL = /[&<>"']/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// Element content needs only & < > escaped; leaving JSON's many quotes alone keeps events small.
const CONTENT_SPECIAL = /[&<>]/g;
// The same set as FORBIDDEN, split so the common case is a plain character-class scan: only text
// that holds a surrogate at all pays for the look-around that tells pairs from lone halves.
const FORBIDDEN_PLAIN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const ANY_SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// Anything the steps below would change: one scan, and most events need nothing more.
const NEEDS_WORK = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF&<>]/;

/** Escapes text for a double-quoted attribute, dropping forbidden characters. */
export function xmlText(value: string): string {
  return value.replace(FORBIDDEN, '').replace(SPECIAL, (c) => ENTITY[c] ?? c);
}

/**
 * Escapes element content (the hot path: every event's JSON), dropping forbidden characters.
 */
export function xmlContent(value: string): string {
  if (!NEEDS_WORK.test(value)) return value;
  let clean = value.replace(FORBIDDEN_PLAIN, '');
  if (ANY_SURROGATE.test(clean)) clean = clean.replace(LONE_SURROGATE, '');
  return clean.replace(CONTENT_SPECIAL, (c) => ENTITY[c] ?? c);
}
