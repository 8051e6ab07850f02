/**
 * End to end: the built defender_xdr_streaming_eventhub bundle through its launcher, with the
 * splunkd stand-in. No Event Hubs namespace is reachable here: this proves the scheme, the
 * validation splunkd runs on create/edit, that the bundle loads the Event Hubs SDK and fails a
 * run with the real connection failure, and that the connection string never leaks.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { APP, APP_DIR, provisionAccount, runConfigXml, runInputProcess, SECRET_CANARY, startStandIns, validateConfigXml, type StandIns } from '../../tools/harness.js';

const SCHEME = 'defender_xdr_streaming_eventhub';
let s: StandIns;
before(async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', `${SCHEME}.js`)), 'run npm run build first (npm test does)');
  s = await startStandIns();
  provisionAccount(s, 'prod');
  // A failed connection is reported at once rather than after the default back-off.
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { max_retries: '0', request_timeout: '10' });
});
after(async () => s?.stop());

const KEY = `${SECRET_CANARY}eventhubkey0123456789`;
const connection = (entity = 'insights-logs-advancedhunting-deviceprocessevents', host = 'contoso-defender.servicebus.windows.net') =>
  `Endpoint=sb://${host}/;SharedAccessKeyName=splunk-listen;SharedAccessKey=${KEY}${entity ? `;EntityPath=${entity}` : ''}`;

describe('defender_xdr_streaming_eventhub (built bundle)', () => {
  test('--scheme', async () => {
    const r = await runInputProcess(SCHEME, ['--scheme'], '');
    assert.equal(r.code, 0);
    const args = new XMLParser({ ignoreAttributes: false }).parse(r.stdout).scheme.endpoint.args.arg as Record<string, string>[];
    assert.deepEqual(args.map((a) => a['@_name']), ['auth_type', 'account', 'namespace', 'event_hub', 'consumer_group', 'checkpoint_store', 'checkpoint_container_url', 'start_position', 'run_seconds', 'ca_file']);
  });

  test('--validate-arguments names the field or the missing secret', async () => {
    const validate = (name: string, params: Record<string, string>) =>
      runInputProcess(SCHEME, ['--validate-arguments'], validateConfigXml(s, name, params).replace(`name="${name}"`, `name="${SCHEME}://${name}"`));
    s.splunkd.setPassword(APP, APP, `${SCHEME}://good`, connection());
    s.splunkd.setPassword(APP, APP, `${SCHEME}://nohub`, connection(''));
    s.splunkd.setPassword(APP, APP, `${SCHEME}://broken`, `${SECRET_CANARY}not-a-connection-string`);
    for (const [name, params] of [['good', { interval: '300' }], ['nohub', { event_hub: 'insights-logs-advancedhunting-emailevents' }], ['entra', { auth_type: 'entra', account: 'prod', namespace: 'contoso-defender.servicebus.windows.net', event_hub: 'h' }]] as const) {
      const r = await validate(name, params);
      assert.equal(r.code, 0, `${name}: ${r.stdout}${r.stderr}`);
    }
    const cases: [string, Record<string, string>, RegExp][] = [
      ['missing', {}, /No Event Hubs connection string is stored for input "defender_xdr_streaming_eventhub:\/\/missing"/],
      ['nohub', {}, /event_hub.*required: the stored connection string has no EntityPath/],
      ['good', { event_hub: 'other' }, /differs from the connection string's EntityPath/],
      ['good', { namespace: 'other-ns.servicebus.windows.net' }, /namespace.*differs from the connection string's endpoint/],
      ['broken', {}, /connection string is not usable/],
      ['entra', { auth_type: 'entra', namespace: 'contoso-defender.servicebus.windows.net', event_hub: 'h' }, /Account \(account\) is required with auth_type = entra/],
      ['entra', { auth_type: 'entra', account: 'ghost', namespace: 'contoso-defender.servicebus.windows.net', event_hub: 'h' }, /"ghost" does not exist/],
      ['good', { checkpoint_store: 'blob', checkpoint_container_url: 'https://acct.blob.core.windows.net/cps' }, /SAS token for the checkpoint container is stored for input "defender_xdr_streaming_eventhub:\/\/good#checkpoint"/],
      ['good', { run_seconds: '99999' }, /run_seconds/],
    ];
    for (const [name, params, expected] of cases) {
      const r = await validate(name, params);
      assert.notEqual(r.code, 0, `${name} ${JSON.stringify(params)}`);
      const message = new XMLParser().parse(r.stdout).error?.message as string;
      assert.match(message, expected);
      assert.ok(!r.stdout.includes(SECRET_CANARY) && !r.stderr.includes(SECRET_CANARY), 'secret leaked');
    }
  });

  test('a run loads the SDK, tries AMQP over WebSockets and fails with the connection failure, secrets masked', async () => {
    const name = 'unreachable';
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, connection(undefined, '127.0.0.1'));
    const cp = mkdtempSync(path.join(s.workDir, 'cp-eh-'));
    const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, { run_seconds: '20' }, cp));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '<stream></stream>');
    assert.match(r.stderr, /ERROR Poll failed: (Cannot connect to Event Hubs at 127\.0\.0\.1 \(AMQP over WebSockets, port 443\)|Event Hubs at 127\.0\.0\.1 did not accept)/);
    assert.ok(!r.stderr.includes(SECRET_CANARY), 'secret leaked');
  });
});
