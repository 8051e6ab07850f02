/**
 * TEST TOOL — reads the shipped Dashboard Studio views (default/data/ui/views/*.xml: a
 * `<dashboard version="2">` wrapping the JSON definition in CDATA) and the fields the add-on's
 * data has, for the dashboard checks and the rendered preview.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parseConf, type Conf } from '../../tools/conf.js';
import { ROOT } from '../../tools/harness.js';
import { ACTION_LOG_SAMPLE_FILE, logSampleFields } from './logSample.js';
import { evaluate, loadApp, type SearchTimeApp } from './searchtime/index.js';
import { DEFAULT_FIELDS, expandMacros } from './spl.js';

export const VIEWS_DIR = path.join(ROOT, 'default', 'data', 'ui', 'views');

export interface DataSource {
  type: string;
  name?: string;
  options?: { query?: string; extend?: string; ref?: string; [key: string]: unknown };
}

export interface Definition {
  title?: string;
  dataSources: Record<string, DataSource>;
  visualizations: Record<string, { type: string; title?: string; dataSources?: Record<string, string>; options?: Record<string, unknown>; eventHandlers?: Array<{ type: string; options?: Record<string, unknown> }> }>;
  inputs?: Record<string, { type: string; options?: { token?: string; defaultValue?: unknown }; dataSources?: Record<string, string> }>;
  defaults?: unknown;
  layout: { globalInputs?: string[]; tabs?: { items: Array<{ layoutId: string }> }; layoutDefinitions?: Record<string, { structure: Array<{ item: string }> }> };
}

export interface View {
  file: string;
  name: string;
  version: string;
  label: string;
  definition: Definition;
}

export function loadViews(): View[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', cdataPropName: '#cdata', parseTagValue: false });
  return readdirSync(VIEWS_DIR)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((file) => ({ file, doc: parser.parse(readFileSync(path.join(VIEWS_DIR, file), 'utf8')) as { dashboard?: { '@version': string; label: string; definition: { '#cdata': string } } } }))
    // Dashboards only: the configuration page is a <view> with an HTML template.
    .filter((entry): entry is { file: string; doc: { dashboard: { '@version': string; label: string; definition: { '#cdata': string } } } } => entry.doc.dashboard !== undefined)
    .map(({ file, doc }) => {
      return {
        file,
        name: file.replace(/\.xml$/, ''),
        version: doc.dashboard['@version'],
        label: doc.dashboard.label,
        definition: JSON.parse(doc.dashboard.definition['#cdata']) as Definition,
      };
    });
}

export const confOf = (name: string): Conf => parseConf(readFileSync(path.join(ROOT, 'default', name), 'utf8'));

/** The whole SPL a data source runs: a chain's base search first, macros expanded. */
export function effectiveQuery(definition: Definition, id: string, macros: Conf): { text: string; macros: string[] } {
  const ds = definition.dataSources[id];
  if (!ds) throw new Error(`data source ${id} does not exist`);
  if (ds.type === 'ds.chain') {
    const base = effectiveQuery(definition, String(ds.options?.extend), macros);
    const own = expandMacros(ds.options?.query ?? '', macros);
    return { text: `${base.text} ${own.text}`, macros: [...base.macros, ...own.macros] };
  }
  return expandMacros(ds.options?.query ?? '', macros);
}

export const SOURCETYPES = ['ms:defender:alert', 'ms:defender:incident', 'ta:defender:xdr:log', 'ms:defender:endpoint:machine', 'ms:defender:endpoint:vulnerability'] as const;

/** Per sourcetype: every field search-time processing gives the golden fixtures (or the log sample). */
export function fieldsBySourcetype(app: SearchTimeApp = loadApp(ROOT)): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  const fixtures = path.join(ROOT, 'test', 'fixtures');
  for (const folder of readdirSync(fixtures)) {
    const sourcetype = folder.replace(/_/g, ':');
    const fields = new Set(DEFAULT_FIELDS);
    for (const file of readdirSync(path.join(fixtures, folder)).filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))) {
      const raw = JSON.stringify(JSON.parse(readFileSync(path.join(fixtures, folder, file), 'utf8')));
      for (const name of evaluate(app, { sourcetype, raw }).fields.keys()) fields.add(name);
    }
    result.set(sourcetype, fields);
  }
  result.set('ta:defender:xdr:log', new Set([...DEFAULT_FIELDS, ...logSampleFields(app), ...logSampleFields(app, ACTION_LOG_SAMPLE_FILE)]));
  return result;
}

/** The fields a search can start from: those of every sourcetype it names. */
export function availableFields(query: string, bySourcetype: Map<string, Set<string>>): Set<string> {
  const named = SOURCETYPES.filter((st) => query.includes(`sourcetype="${st}"`));
  if (named.length === 0) throw new Error(`the search names none of the add-on's sourcetypes: ${query}`);
  return new Set(named.flatMap((st) => [...(bySourcetype.get(st) ?? [])]));
}
