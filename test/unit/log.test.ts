import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, redactSecret } from '../../src/splunk/log.js';

test('lines start with the level word, stay on one line, and carry key=value fields', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), level: 'INFO' }, { input: 'defender_xdr_alerts://x y' });
  log.debug('hidden');
  log.info('Poll finished\nsecond line', { emitted: 3, ok: true });
  assert.deepEqual(lines, ['INFO Poll finished second line input="defender_xdr_alerts://x y" emitted=3 ok=true']);
});

test('registered secrets and bearer tokens never reach a log line', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';
  redactSecret('s3cr3t~Value.With.Dots');
  redactSecret(pem);
  log.error('failed with s3cr3t~Value.With.Dots', { header: 'Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.abc' });
  log.error('key line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC leaked');
  assert.ok(!lines.join('\n').includes('s3cr3t'));
  assert.ok(!lines.join('\n').includes('eyJ0eXAi'));
  assert.ok(!lines.join('\n').includes('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'));
});
