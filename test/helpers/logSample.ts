import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, type SearchTimeApp } from './searchtime/index.js';

/**
 * Lines of ta_defender_xdr.log as the built inputs write them (captured from test/e2e/log-file.test.ts,
 * which checks that real lines still carry every field this sample has), for the dashboard checks.
 */
export const LOG_SAMPLE_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dashboards', 'ta_defender_xdr.log.sample');

export function logSampleLines(): string[] {
  return readFileSync(LOG_SAMPLE_FILE, 'utf8').trimEnd().split('\n');
}

/** Every field the shipped props/transforms extract from the sample lines. */
export function logSampleFields(app: SearchTimeApp): Set<string> {
  const fields = new Set<string>();
  for (const raw of logSampleLines()) {
    for (const name of evaluate(app, { sourcetype: 'ta:defender:xdr:log', source: '/opt/splunk/var/log/splunk/ta_defender_xdr.log', raw }).fields.keys()) fields.add(name);
  }
  return fields;
}
