import { XMLBuilder } from 'fast-xml-parser';
import type { InputDefinition } from './args.js';

export type { ApiProbe, ArgDefinition, InputDefinition } from './args.js';
export { validateArg, validateParams } from './args.js';

const builder = new XMLBuilder({ format: true, indentBy: '  ', ignoreAttributes: false, attributeNamePrefix: '@_' });

/** `singleInstance`: splunkd runs one process for all of the scheme's stanzas (the resident collector). */
export function schemeXml(def: InputDefinition, singleInstance = false): string {
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
      // By default one process per stanza and poll; the resident collector is opt-in (docs/resident.md).
      use_single_instance: String(singleInstance),
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
