/**
 * One typed definition per input. It generates the `--scheme` XML, the lines of
 * `README/inputs.conf.spec`, drives `--validate-arguments` and the fields of the configuration
 * page, so the four cannot drift. Free of Node.js imports: the page's bundle includes it.
 */
export interface ArgDefinition {
  name: string;
  title: string;
  /** One line; used in the scheme, the spec file and the UI. */
  description: string;
  dataType: 'string' | 'number' | 'boolean';
  required: boolean;
  /** Shown in the spec file as the default. */
  defaultText?: string;
  /** Spec placeholder, e.g. `<string>` or `<ISO 8601 UTC datetime>`. */
  specType: string;
  /** Returns an error message for a bad value, or undefined when it is fine. Not called for an empty optional value. */
  validate?: (value: string) => string | undefined;
  /** The configuration page offers several lines (e.g. a KQL query). */
  multiline?: boolean;
}

/** One cheap Graph call that proves an account may use an input's API (the connection test). */
export interface ApiProbe {
  /** Graph path after the Graph host, e.g. /v1.0/security/alerts_v2. */
  path: string;
  /** The application permission the API needs, named when Graph answers 403. */
  permission: string;
  /** A JSON body to POST instead of a GET with $top=1 (an API that is a POSTed query). */
  body?: Record<string, string>;
  /** The Defender for Endpoint API (the account's MDE host and token resource) instead of Graph. */
  api?: 'mde';
}

export interface InputDefinition {
  scheme: string;
  title: string;
  description: string;
  args: ArgDefinition[];
  probe?: ApiProbe;
  /** Can run in the resident collector (docs/resident.md): a polling input whose polls end on their own. */
  resident?: boolean;
}

/** Checks one parameter value against its definition; the message does not name the field. */
export function validateArg(a: ArgDefinition, raw: string | undefined): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return a.required ? 'is required.' : undefined;
  return a.validate?.(value);
}

/** Checks the parameters of one stanza against its definition; returns the first problem, naming the field. */
export function validateParams(def: InputDefinition, params: Record<string, string>): string | undefined {
  for (const a of def.args) {
    const problem = validateArg(a, params[a.name]);
    if (problem === 'is required.') return `${a.title} (${a.name}) is required.`;
    if (problem) return `${a.title} (${a.name}): ${problem}`;
  }
  return undefined;
}
