/**
 * The shipped dashboards, navigation, macros and saved searches:
 * - each view is a Dashboard Studio view (version 2) whose definition passes Splunk's own
 *   validator (@splunk/dashboard-validation) against the dashboard schema of
 *   @splunk/dashboard-definition with Splunk's visualization option schemas (the browser test
 *   in test/e2e/dashboard-preview.test.ts validates again with the full Enterprise preset);
 * - every search uses only fields the add-on's data has: those the shipped props/transforms give
 *   the golden fixtures (test/fixtures) or the add-on's log lines (test/dashboards sample), plus
 *   what earlier commands of the same search make;
 * - every macro, data source, token and navigation entry it refers to exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { ROOT } from '../../tools/harness.js';
import { availableFields, confOf, effectiveQuery, fieldsBySourcetype, loadViews, VIEWS_DIR, type Definition } from '../helpers/dashboards.js';
import { analyse, expandMacros, splitPipeline } from '../helpers/spl.js';

const require = createRequire(import.meta.url);
const views = loadViews();
const macros = confOf('macros.conf');
const savedSearches = confOf('savedsearches.conf');
const bySourcetype = fieldsBySourcetype();

interface Validator {
  setSchema(schema: unknown): Error | null;
  validate(definition: unknown): Array<{ instancePath?: string; message?: string }> | null;
}

/** Splunk's validator with the dashboard schema and the option schemas of every visualization type. */
function splunkValidator(): Validator {
  const { DashboardValidator } = require('@splunk/dashboard-validation') as { DashboardValidator: new () => Validator };
  const { createSchemaBasedOnDicts } = require('@splunk/dashboard-definition/DashboardSchema') as { createSchemaBasedOnDicts: (dicts: object) => unknown };
  const schemas = require('@splunk/visualization-schemas') as Record<string, unknown>;
  // splunk.<name> uses <name>OptionsSchema (splunk.singlevalue -> singleValueOptionsSchema).
  const visualizationDict: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(schemas)) {
    const m = /^(.+)OptionsSchema$/.exec(key);
    if (m) visualizationDict[`splunk.${m[1].toLowerCase()}`] = schema;
  }
  const validator = new DashboardValidator();
  const problem = validator.setSchema(createSchemaBasedOnDicts({ visualizationDict }));
  assert.equal(problem, null);
  return validator;
}

test('there are the two dashboards, in Dashboard Studio format', () => {
  assert.deepEqual(views.map((v) => v.name), ['defender_xdr_health', 'defender_xdr_overview']);
  for (const view of views) {
    assert.equal(view.version, '2', `${view.file} must be <dashboard version="2">`);
    assert.ok(view.label, `${view.file} has a label`);
    assert.ok(!readFileSync(path.join(VIEWS_DIR, view.file), 'utf8').includes(']]>]]>'));
  }
});

describe("Splunk's dashboard validator", () => {
  const validator = splunkValidator();

  for (const view of views) {
    test(`${view.name} is a valid definition`, () => {
      assert.deepEqual(validator.validate(view.definition), null);
    });
  }

  test('the validator rejects what Dashboard Studio would (negative control)', () => {
    const [view] = views;
    const broken = structuredClone(view.definition);
    const [firstViz] = Object.keys(broken.visualizations);
    broken.visualizations[firstViz].type = 'splunk.notAVisualization';
    assert.ok(validator.validate(broken)?.some((e) => /type/.test(e.instancePath ?? '')));
    const badOption = structuredClone(view.definition);
    const table = Object.values(badOption.visualizations).find((v) => v.type === 'splunk.table');
    assert.ok(table);
    table.options = { ...table.options, count: 'many' };
    assert.ok(validator.validate(badOption), 'a wrong option type is an error');
    const orphan = structuredClone(view.definition);
    orphan.visualizations.viz_orphan = { type: 'splunk.markdown', options: { markdown: 'x' } };
    assert.ok(validator.validate(orphan)?.some((e) => /not present in any Layout/.test(e.message ?? '')));
  });
});

for (const view of views) {
  describe(`${view.name}: searches, tokens and references`, () => {
    const def: Definition = view.definition;

    for (const [id, ds] of Object.entries(def.dataSources)) {
      test(`${id} (${ds.name}) reads only fields the data has`, () => {
        assert.ok(['ds.search', 'ds.chain'].includes(ds.type), ds.type);
        if (ds.type === 'ds.chain') assert.ok(def.dataSources[String(ds.options?.extend)], `${id} extends a missing data source`);
        const { text } = effectiveQuery(def, id, macros);
        const result = analyse(text, availableFields(text, bySourcetype));
        assert.deepEqual(result.problems, [], text);
      });
    }

    test('every visualization reads an existing data source, and the fields it shows exist in its results', () => {
      for (const [id, viz] of Object.entries(def.visualizations)) {
        for (const dsId of Object.values(viz.dataSources ?? {})) {
          assert.ok(def.dataSources[dsId], `${id} uses missing data source ${dsId}`);
          const output = analyse(effectiveQuery(def, dsId, macros).text, availableFields(effectiveQuery(def, dsId, macros).text, bySourcetype)).output;
          const text = JSON.stringify({ options: viz.options ?? {}, eventHandlers: viz.eventHandlers ?? [] });
          const referenced = [...text.matchAll(/seriesByName\('([^']+)'\)|\$row\.([^.$]+)\.value\$/g)].map((m) => m[1] ?? m[2]);
          for (const field of referenced) assert.ok(output?.has(field), `${id} shows "${field}", which ${dsId} does not return`);
        }
      }
    });

    test('the alert table drills down to the Defender portal link of the row', () => {
      if (view.name !== 'defender_xdr_overview') return;
      const drilldowns = Object.values(def.visualizations).flatMap((v) => v.eventHandlers ?? []);
      assert.ok(drilldowns.some((h) => h.type === 'drilldown.customUrl' && h.options?.url === '$row.alertWebUrl.value$' && h.options?.newTab === true));
    });

    test('every token a search uses is set by an input (or is the time picker)', () => {
      const tokens = new Set(Object.values(def.inputs ?? {}).map((i) => i.options?.token));
      const used = JSON.stringify(def.dataSources).match(/\$[A-Za-z_][\w.]*\$/g) ?? [];
      for (const token of used) {
        const name = token.slice(1, -1).split('.')[0];
        assert.ok(tokens.has(name), `${token} is not set by any input`);
      }
      for (const id of def.layout.globalInputs ?? []) assert.ok(def.inputs?.[id], `global input ${id} is missing`);
    });

    test('alerts and incidents are counted once, in their latest state', () => {
      for (const id of Object.keys(def.dataSources)) {
        const { text, macros: used } = effectiveQuery(def, id, macros);
        if (!/sourcetype="ms:defender:(alert|incident)"/.test(text) || /count by vendor_account/.test(text)) continue;
        const deduplicated = used.includes('defender_xdr_latest') || /stats [^|]*\bby id\b/.test(text);
        assert.ok(deduplicated, `${id} must use defender_xdr_latest or stats ... by id: alerts and incidents are updatable`);
      }
    });
  });
}

describe('macros and saved searches', () => {
  test('defender_xdr_index is the one place the index is set', () => {
    assert.ok(macros.get('defender_xdr_index')?.get('definition'));
    for (const [name, stanza] of macros) {
      if (!name || name === 'defender_xdr_index' || name === 'defender_xdr_log') continue;
      assert.doesNotMatch(stanza.get('definition') ?? '', /\bindex\s*=/, `${name} must go through defender_xdr_index`);
    }
    // The latest-state macro dedups by id after ordering newest first.
    assert.deepEqual(splitPipeline(expandMacros('`defender_xdr_latest`', macros).text), ['sort 0 - _time', 'dedup id']);
  });

  test('every macro is used by a dashboard or saved search, and every one used exists', () => {
    const used = new Set<string>();
    for (const view of views) for (const id of Object.keys(view.definition.dataSources)) effectiveQuery(view.definition, id, macros).macros.forEach((m) => used.add(m));
    for (const [, stanza] of savedSearches) if (stanza.get('search')) expandMacros(stanza.get('search') ?? '', macros).macros.forEach((m) => used.add(m));
    for (const name of macros.keys()) if (name) assert.ok(used.has(name), `macro ${name} is never used`);
  });

  for (const [name, stanza] of savedSearches) {
    if (!name) continue;
    test(`saved alert "${name}": disabled by default, scheduled, fields exist`, () => {
      assert.equal(stanza.get('disabled'), '1');
      assert.equal(stanza.get('enableSched'), '1');
      assert.ok(stanza.get('cron_schedule'));
      // A report that fills a lookup (the ES asset lookup) has no alert condition.
      if (!/\|\s*outputlookup\s+\S+\s*$/.test(stanza.get('search') ?? '')) assert.equal(stanza.get('counttype'), 'number of events');
      const { text } = expandMacros(stanza.get('search') ?? '', macros);
      assert.deepEqual(analyse(text, availableFields(text, bySourcetype)).problems, [], text);
    });
  }

  test('the two optional health alerts ship', () => {
    const names = [...savedSearches.keys()].filter(Boolean);
    assert.ok(names.some((n) => /3 intervals/.test(n)));
    assert.ok(names.some((n) => /[Tt]hrottling for more than 15 minutes/.test(n)));
  });
});

test('navigation lists both dashboards and the configuration page, the overview first and default', () => {
  const nav = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => n === 'view' }).parse(
    readFileSync(path.join(ROOT, 'default', 'data', 'ui', 'nav', 'default.xml'), 'utf8'),
  ) as { nav: { view: Array<{ '@name': string; '@default'?: string }>; collection?: { view?: Array<{ '@name': string }> } } };
  const names = nav.nav.view.map((v) => v['@name']);
  assert.deepEqual(names, ['defender_xdr_overview', 'defender_xdr_health', 'configuration']);
  assert.equal(nav.nav.view[0]['@default'], 'true');
  for (const name of names) assert.ok(existsSync(path.join(VIEWS_DIR, `${name}.xml`)), name);
});

test('the SPL reader catches a field the data does not have (negative control)', () => {
  const alertFields = bySourcetype.get('ms:defender:alert') ?? new Set<string>();
  const ok = analyse('index=x sourcetype="ms:defender:alert" | stats dc(id) as alerts by dest | sort - alerts', alertFields);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual([...(ok.output ?? [])], ['dest', 'alerts']);
  assert.equal(analyse('index=x sourcetype="ms:defender:alert" | stats count by deviceName', alertFields).problems.length, 1);
  assert.equal(analyse('index=x sourcetype="ms:defender:alert" | stats count by dest | table dest user', alertFields).problems.length, 1, 'user is gone after stats');
  assert.equal(analyse('index=x sourcetype="ms:defender:alert" hostname=a', alertFields).problems.length, 1);
  assert.equal(analyse('index=x sourcetype="ms:defender:alert" | fields id | stats count by dest', alertFields).problems.length, 1, 'a base search hands on only its fields');
  assert.equal(analyse('index=x | eval x=if(nosuch="a", 1, 0)', alertFields).problems.length, 1);
  assert.equal(analyse('index=x | transaction id', alertFields).problems.length, 1, 'unknown commands are not passed');
  assert.throws(() => expandMacros('`no_such_macro`', macros), /not defined/);
});
