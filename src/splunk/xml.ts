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
const NEEDS_WORK = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** Escapes text for a double-quoted attribute, dropping forbidden characters. */
export function xmlText(value: string): string {
  return value.replace(FORBIDDEN, '').replace(SPECIAL, (c) => ENTITY[c] ?? c);
}

/**
 * Escapes element content (the hot path: every event's JSON). Most events need nothing, so one
 * scan decides; surrogates send a string down the slow path, where valid pairs are kept.
 */
export function xmlContent(value: string): string {
  if (!NEEDS_WORK.test(value)) return value;
  return value.replace(FORBIDDEN, '').replace(CONTENT_SPECIAL, (c) => ENTITY[c] ?? c);
}
