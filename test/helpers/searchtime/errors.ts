/** Shared types and the error every unsupported or invalid construct raises. */

/** Event fields as Splunk shows them: every field is multi-value (a single value is a 1-element list). */
export type Fields = Map<string, string[]>;

/** Thrown for anything the tool does not model or that Splunk would reject. Never caught internally. */
export class SearchTimeError extends Error {
  override name = 'SearchTimeError';
}

export function fail(message: string): never {
  throw new SearchTimeError(message);
}

/** Splunk .conf booleans. */
export function confBool(value: string, context: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 'true', 't', 'yes', 'y'].includes(v)) return true;
  if (['0', 'false', 'f', 'no', 'n'].includes(v)) return false;
  return fail(`${context}: '${value}' is not a boolean`);
}

/** Splits on whitespace, honouring "double quotes" (with \" and \\ escapes). */
export function quotedTokens(text: string, context: string): Array<{ text: string; quoted: boolean }> {
  const out: Array<{ text: string; quoted: boolean }> = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    if (text[i] === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i++;
        value += text[i++];
      }
      if (i >= text.length) fail(`${context}: unterminated quote in '${text}'`);
      i++;
      if (i < text.length && !/\s/.test(text[i])) fail(`${context}: text directly after a closing quote in '${text}'`);
      out.push({ text: value, quoted: true });
      continue;
    }
    let word = '';
    while (i < text.length && !/\s/.test(text[i])) {
      if (text[i] === '"') fail(`${context}: a quote inside a word in '${text}'`);
      word += text[i++];
    }
    out.push({ text: word, quoted: false });
  }
  return out;
}
