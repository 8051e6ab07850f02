import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, type SearchTimeApp } from './searchtime/index.js';

/**
 * Lines of ta_defender_xdr.log as the built inputs write them (captured from test/e2e/log-file.test.ts,
 * which checks that real lines still carry every field this sample has), for the dashboard checks.
 */
export const LOG_SAMPLE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboards', 'ta_defender_xdr.log.sample');

/**
 * Lines defender_device_action writes to the same log (captured from a run against the simulator in
 * test/e2e/dashboard-preview.test.ts, which checks that real lines still carry every field it has).
 */
export const ACTION_LOG_SAMPLE_FILE = path.join(path.dirname(LOG_SAMPLE_FILE), 'defender_device_action.log.sample');

export function logSampleLines(file = LOG_SAMPLE_FILE): string[] {
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}

/** Every field the shipped props/transforms extract from the sample lines. */
export function logSampleFields(app: SearchTimeApp, file = LOG_SAMPLE_FILE): Set<string> {
  const fields = new Set<string>();
  for (const raw of logSampleLines(file)) {
    for (const name of evaluate(app, { sourcetype: 'ta:defender:xdr:log', source: '/opt/splunk/var/log/splunk/ta_defender_xdr.log', raw }).fields.keys()) fields.add(name);
  }
  return fields;
}
