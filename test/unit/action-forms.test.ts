/**
 * The alert dialog forms (default/data/ui/alerts/*.html) against alert_actions.conf and what the
 * actions accept: every parameter has a field, every choice offered is accepted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parseUpdateRequest } from '../../src/actions/request.js';
import { ALERT_TARGET, CLASSIFICATIONS, DETERMINATIONS_BY_CLASSIFICATION, INCIDENT_TARGET } from '../../src/actions/targets.js';
import { parseConf } from '../../tools/conf.js';
import { ROOT } from '../../tools/harness.js';

const actionsConf = parseConf(readFileSync(path.join(ROOT, 'default/alert_actions.conf'), 'utf8'));

interface Control {
  name: string;
  options?: { value: string; group?: string }[];
}

function controls(action: string): Control[] {
  const html = readFileSync(path.join(ROOT, 'default/data/ui/alerts', `${action}.html`), 'utf8');
  assert.equal(XMLValidator.validate(html), true, `${action}.html is not well formed`);
  assert.doesNotMatch(html, /<script|\son[a-z]+\s*=/i, 'Splunk renders these forms as static HTML only');
  const found: Control[] = [];
  const walk = (node: unknown, group?: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, group));
    if (typeof node !== 'object' || node === null) return;
    const element = node as Record<string, unknown>;
    for (const [tag, value] of Object.entries(element)) {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        const attrs = (item ?? {}) as Record<string, unknown>;
        if (tag === 'input' || tag === 'textarea') found.push({ name: String(attrs['@_name']) });
        if (tag === 'select') {
          const options: { value: string; group?: string }[] = [];
          const collect = (n: unknown, g?: string): void => {
            if (Array.isArray(n)) return n.forEach((x) => collect(x, g));
            if (typeof n !== 'object' || n === null) return;
            for (const [t, v] of Object.entries(n as Record<string, unknown>)) {
              for (const o of Array.isArray(v) ? v : [v]) {
                if (t === 'option') options.push({ value: String((o as Record<string, unknown>)['@_value']), group: g });
                else if (t === 'optgroup') collect(o, String((o as Record<string, unknown>)['@_label']));
              }
            }
          };
          collect(attrs);
          found.push({ name: String(attrs['@_name']), options });
        } else if (tag !== '@_name') walk(item, group);
      }
    }
  };
  walk(new XMLParser({ ignoreAttributes: false, isArray: () => true }).parse(html));
  return found;
}

for (const target of [ALERT_TARGET, INCIDENT_TARGET]) {
  test(`${target.action}.html: one field per parameter of alert_actions.conf, each choice accepted by the action`, () => {
    const fields = controls(target.action);
    const params = [...actionsConf.get(target.action)!.keys()].filter((k) => k.startsWith('param.')).map((k) => k.slice('param.'.length));
    assert.deepEqual(fields.map((f) => f.name).sort(), params.map((p) => `action.${target.action}.param.${p}`).sort());
    const options = (param: string) => fields.find((f) => f.name === `action.${target.action}.param.${param}`)!.options!;
    assert.deepEqual(options('status').map((o) => o.value).sort(), ['', ...target.statuses].sort());
    assert.deepEqual(options('classification').map((o) => o.value), ['', ...CLASSIFICATIONS]);
    for (const { value, group } of options('determination')) {
      if (!value) continue;
      // Each determination is offered under a classification it belongs to: picking both passes.
      const classification = group ? CLASSIFICATIONS.find((c) => group.toLowerCase().startsWith(labelOf(c))) : 'truePositive';
      assert.ok(classification, `optgroup ${group}`);
      assert.ok(DETERMINATIONS_BY_CLASSIFICATION[classification]!.includes(value), `${value} under ${group}`);
      assert.doesNotThrow(() => parseUpdateRequest(target, { account: 'a', classification, determination: value }));
    }
  });
}

function labelOf(classification: string): string {
  return { truePositive: 'true positive', falsePositive: 'false positive', informationalExpectedActivity: 'informational', unknown: 'unknown' }[classification]!;
}
