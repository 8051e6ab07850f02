/**
 * A small parser for Splunk .conf and .conf.spec files, as splunkd reads them:
 * - `[stanza]` opens a stanza; keys before the first stanza belong to stanza '' (global).
 * - `key = value` splits at the first '='; key and value are trimmed.
 * - A line whose first non-blank character is '#' is a comment. Splunk has no inline
 *   comments: a '#' after a value is part of the value.
 * - A line ending in '\' continues on the next line; the backslash becomes a newline in
 *   the value (splunkd keeps multi-line values such as searches line by line).
 * - A repeated stanza merges into the first; a repeated key keeps the last value.
 * - Any other line (blank, or a `* description` bullet in a .spec file) is ignored.
 */
export type Conf = Map<string, Map<string, string>>;

export function parseConf(text: string): Conf {
  const conf: Conf = new Map([['', new Map<string, string>()]]);
  let current = conf.get('') as Map<string, string>;
  for (const line of logicalLines(text)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const stanza = /^\[(.*)\]$/.exec(trimmed);
    if (stanza) {
      current = stanzaOf(conf, stanza[1].trim());
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return conf;
}

/** Joins '\'-continued physical lines into logical lines. */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const continued = raw.endsWith('\\');
    const body = continued ? raw.slice(0, -1) : raw;
    pending = pending === undefined ? body : `${pending}\n${body}`;
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  }
  if (pending !== undefined) out.push(pending);
  return out;
}

function stanzaOf(conf: Conf, name: string): Map<string, string> {
  let stanza = conf.get(name);
  if (!stanza) {
    stanza = new Map();
    conf.set(name, stanza);
  }
  return stanza;
}

/**
 * A predicate telling whether `key` is declared by a parsed .spec stanza. Spec keys may hold
 * placeholders (`EXTRACT-<class>`, `reload.<conf_file_name>`), each matching one or more characters.
 */
export function specKeyMatcher(specStanza: Map<string, string>, options: { barePlaceholders?: boolean } = {}): (key: string) => boolean {
  const literal = new Set<string>();
  const patterns: RegExp[] = [];
  for (const specKey of specStanza.keys()) {
    if (specKey.startsWith('*') || /\s/.test(specKey)) continue; // prose that happens to hold '='
    // A key that is only a placeholder (`<name> = …`) would accept anything; only files whose
    // grammar really is free-form keys (tags.conf: `<tag> = enabled`) opt in.
    if (/^<[^>]*>$/.test(specKey) && !options.barePlaceholders) continue;
    if (specKey.includes('<')) patterns.push(placeholderPattern(specKey));
    else literal.add(specKey);
  }
  return (key) => literal.has(key) || patterns.some((p) => p.test(key));
}

function placeholderPattern(specKey: string): RegExp {
  const source = specKey
    .split(/<[^>]*>/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
  return new RegExp(`^${source}$`);
}

/** All keys of every stanza of a parsed .spec file, as one stanza (for specs like props.conf.spec). */
export function allSpecKeys(spec: Conf): Map<string, string> {
  const merged = new Map<string, string>();
  for (const stanza of spec.values()) for (const [k, v] of stanza) merged.set(k, v);
  return merged;
}
