/**
 * Splunk regexes are PCRE; this tool runs them as JavaScript RegExp. Accepted: a leading
 * (?i)/(?s)/(?m) flag group and (?P<name>...) named groups. PCRE-only syntax that JavaScript would
 * silently misread (\A, \z, \p{..} without the u flag, possessive quantifiers, atomic groups,
 * POSIX classes) throws, as does anything JavaScript cannot compile.
 */
import { fail } from './errors.js';

const PCRE_ONLY_ESCAPES = new Set(['A', 'Z', 'z', 'G', 'K', 'Q', 'E', 'R', 'h', 'H', 'X', 'C', 'N', 'e', 'p', 'P']);

export function compileRegex(pattern: string, flags: string, context: string): RegExp {
  let body = pattern;
  const flagSet = new Set(flags);
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (lead) {
    for (const c of lead[1]) {
      if (!'ims'.includes(c)) fail(`${context}: regex flag (?${c}) in /${pattern}/ is not supported`);
      flagSet.add(c);
    }
    body = body.slice(lead[0].length);
  }
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\') {
      const next = body[i + 1] ?? '';
      if (PCRE_ONLY_ESCAPES.has(next) || (next === 'x' && body[i + 2] === '{')) {
        fail(`${context}: PCRE escape \\${next} in /${pattern}/ is not supported (JavaScript would misread it)`);
      }
      i++;
    }
  }
  if (/\(\?[>|#]|\[\[:|(^|[^\\])[*+?}]\+/.test(body)) {
    fail(`${context}: PCRE-only syntax (atomic group, branch reset, comment, POSIX class or possessive quantifier) in /${pattern}/ is not supported`);
  }
  body = body.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(body, [...flagSet].join(''));
  } catch (e) {
    return fail(`${context}: regex /${pattern}/ cannot be compiled: ${(e as Error).message}`);
  }
}
