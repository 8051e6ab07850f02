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

/** Escapes text for element content or a double-quoted attribute, dropping forbidden characters. */
export function xmlText(value: string): string {
  return value.replace(FORBIDDEN, '').replace(SPECIAL, (c) => ENTITY[c] ?? c);
}
