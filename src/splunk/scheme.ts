import { XMLBuilder } from 'fast-xml-parser';

/**
 * One typed definition per input. It generates the `--scheme` XML, the lines of
 * `README/inputs.conf.spec`, and drives `--validate-arguments`, so the three cannot drift.
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
}

export interface InputDefinition {
  scheme: string;
  title: string;
  description: string;
  args: ArgDefinition[];
}

const builder = new XMLBuilder({ format: true, indentBy: '  ', ignoreAttributes: false, attributeNamePrefix: '@_' });

export function schemeXml(def: InputDefinition): string {
  const arg = def.args.map((a) => ({
    '@_name': a.name,
    title: a.title,
    description: a.description,
    data_type: a.dataType,
    required_on_create: String(a.required),
    required_on_edit: 'false',
  }));
  return builder.build({
    scheme: {
      title: def.title,
      description: def.description,
      use_external_validation: 'true',
      // One process per stanza: a slow tenant cannot hold up another input.
      use_single_instance: 'false',
      streaming_mode: 'xml',
      endpoint: { args: { arg } },
    },
  });
}

export function inputsSpec(defs: InputDefinition[]): string {
  const blocks = defs.map((def) => {
    const lines = [`[${def.scheme}://<name>]`, `* ${def.description}`, ''];
    for (const a of def.args) {
      lines.push(`${a.name} = ${a.specType}`);
      lines.push(`* ${a.description}${a.required ? ' Required.' : ''}`);
      if (a.defaultText) lines.push(`* Default: ${a.defaultText}`);
      lines.push('');
    }
    return lines.join('\n');
  });
  return [
    '# Generated from the input definitions in src/sources/*/definition.ts (npm run gen:spec): do not edit by hand.',
    '# interval, index, disabled and the other generic settings are described in Splunk\'s own inputs.conf.spec.',
    '',
    ...blocks,
  ].join('\n');
}

/** Checks the parameters of one stanza against its definition; returns the first problem, naming the field. */
export function validateParams(def: InputDefinition, params: Record<string, string>): string | undefined {
  for (const a of def.args) {
    const value = (params[a.name] ?? '').trim();
    if (!value) {
      if (a.required) return `${a.title} (${a.name}) is required.`;
      continue;
    }
    const problem = a.validate?.(value);
    if (problem) return `${a.title} (${a.name}): ${problem}`;
  }
  return undefined;
}
