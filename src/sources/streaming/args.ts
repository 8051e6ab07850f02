import { knownTable, STREAMING_TABLES } from './tables.js';
import type { ArgDefinition } from '../../splunk/scheme.js';

/** Parameters the two streaming inputs share. */
export const tablesRule = (value: string): string | undefined => {
  const unknown = value.split(',').map((t) => t.trim()).filter((t) => t && !knownTable(t));
  if (unknown.length) return `unknown table ${unknown.map((t) => `"${t}"`).join(', ')}; expected a comma-separated list of: ${STREAMING_TABLES.join(', ')}.`;
  return value.split(',').some((t) => t.trim()) ? undefined : 'name at least one table.';
};

export function parseTables(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(',').map((t) => knownTable(t)).filter((t): t is string => Boolean(t)))];
}

export const caFileArg: ArgDefinition = {
  name: 'ca_file',
  title: 'CA file',
  description: 'Path of an extra PEM CA bundle (a TLS-inspecting proxy, a private endpoint), trusted on top of the public CAs.',
  dataType: 'string',
  required: false,
  specType: '<path>',
  validate: (v) => (/[\r\n]/.test(v) ? 'must be one path on one line.' : undefined),
};
