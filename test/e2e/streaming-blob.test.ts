/**
 * End to end: the built defender_xdr_streaming_blob bundle, started through its launcher as
 * splunkd starts it, against Azurite over https (trusted through ca_file) and the splunkd stand-in
 * holding the input's storage key. Includes kill -9 in the middle of a blob.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { CHUNK_BYTES } from '../../src/sources/streaming-blob/index.js';
import { APP, APP_DIR, parseStream, runConfigXml, runInputProcess, startStandIns, validateConfigXml, type StandIns } from '../../tools/harness.js';
import { appendRecords, blobPath, newTenant, startAzurite, streamingRecord, type Azurite } from '../helpers/azurite.js';

const SCHEME = 'defender_xdr_streaming_blob';
let s: StandIns;
let az: Azurite;
before(async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', `${SCHEME}.js`)), 'run npm run build first (npm test does)');
  [s, az] = await Promise.all([startStandIns(), startAzurite()]);
});
after(async () => Promise.all([s?.stop(), az?.stop()]));

const params = (extra: Record<string, string> = {}) => ({ storage_account: az.account, blob_endpoint: az.endpoint, ca_file: az.caFile, index: 'defender', ...extra });
const seqs = (stdout: string, complete = true) => parseStream(stdout, { complete }).map((e) => JSON.parse(e.data).Seq as number);

function assertNoSecrets(...texts: string[]): void {
  for (const text of texts) {
    assert.ok(!text.includes(az.key), 'storage key leaked');
    assert.ok(!text.includes(s.sessionKey), 'session key leaked');
  }
}

describe('defender_xdr_streaming_blob (built bundle, Azurite)', () => {
  test('--scheme and --validate-arguments', async () => {
    const scheme = await runInputProcess(SCHEME, ['--scheme'], '');
    assert.equal(scheme.code, 0);
    const args = new XMLParser({ ignoreAttributes: false }).parse(scheme.stdout).scheme.endpoint.args.arg as Record<string, string>[];
    assert.deepEqual(args.map((a) => a['@_name']), ['storage_account', 'auth_type', 'blob_endpoint', 'tables', 'start_date', 'ca_file']);

    s.splunkd.setPassword(APP, APP, `${SCHEME}://good`, az.key);
    const validate = (name: string, p: Record<string, string>) => runInputProcess(SCHEME, ['--validate-arguments'], validateConfigXml(s, name, p).replace(`name="${name}"`, `name="${SCHEME}://${name}"`));
    const good = await validate('good', params({ interval: '300' }));
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const cases: [string, Record<string, string>, RegExp][] = [
      ['nosecret', params(), /No storage account key is stored for input "defender_xdr_streaming_blob:\/\/nosecret"/],
      ['good', params({ tables: 'DeviceProcessEvents,ProcessEvents' }), /Tables \(tables\): unknown table "ProcessEvents"/],
      ['good', params({ auth_type: 'password' }), /auth_type.*must be one of account_key, sas_token, connection_string/],
      ['good', params({ storage_account: '', blob_endpoint: '' }), /Storage account \(storage_account\) is required with auth_type = account_key/],
      ['good', params({ auth_type: 'connection_string' }), /leave it empty with auth_type = connection_string/],
      ['good', params({ blob_endpoint: 'http://127.0.0.1:1/x' }), /blob_endpoint.*https/],
      ['good', params({ storage_account: 'Bad_Name' }), /not a storage account name/],
    ];
    for (const [name, p, expected] of cases) {
      const r = await validate(name, p);
      assert.notEqual(r.code, 0, JSON.stringify(p));
      assert.match(new XMLParser().parse(r.stdout).error?.message as string, expected);
    }
  });

  test('kill -9 in the middle of a blob, then a rerun: every record, duplicates bounded by one ranged read', async () => {
    const tenant = newTenant();
    const total = 20_000;
    await appendRecords(az.service, 'DeviceProcessEvents', blobPath(tenant, new Date()), Array.from({ length: total }, (_, i) => streamingRecord('DeviceProcessEvents', i, tenant)));
    const name = 'killed';
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, az.key);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-blob-'));
    const config = runConfigXml(s, SCHEME, name, params({ tables: 'DeviceProcessEvents' }), cp);
    const killed = await runInputProcess(SCHEME, [], config, { killAfterStdoutBytes: 4 * CHUNK_BYTES });
    assert.equal(killed.signal, 'SIGKILL');
    const first = seqs(killed.stdout, false);
    assert.ok(first.length > 0 && first.length < total, `killed mid-blob after ${first.length} events`);
    const rerun = await runInputProcess(SCHEME, [], config);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stderr, /INFO Poll finished/);
    const second = seqs(rerun.stdout);
    const all = new Set([...first, ...second]);
    assert.equal(all.size, total, 'no record lost');
    const duplicates = first.length + second.length - total;
    const perRange = Math.ceil(CHUNK_BYTES / (JSON.stringify(streamingRecord('DeviceProcessEvents', 0, tenant)).length + 2));
    assert.ok(duplicates <= perRange, `${duplicates} duplicates, at most one ranged read (${perRange})`);
    const events = parseStream(rerun.stdout);
    assert.ok(events.every((e) => e.sourcetype === 'ms:defender:advancedhunting' && e.source === 'DeviceProcessEvents' && e.index === 'defender'));
    const quiet = await runInputProcess(SCHEME, [], config);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.deepEqual(seqs(quiet.stdout), []);
    assertNoSecrets(killed.stdout, killed.stderr, rerun.stdout, rerun.stderr, quiet.stderr);
  });

  test('a run loads no Azure SDK: bin/lib/azure-sdks.js is never read (the Blob REST client does the work)', async () => {
    const tenant = newTenant();
    await appendRecords(az.service, 'EmailEvents', blobPath(tenant, new Date()), [1, 2, 3].map((n) => streamingRecord('EmailEvents', n, tenant)));
    const name = 'nosdk';
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, az.key);
    const config = runConfigXml(s, SCHEME, name, params({ tables: 'EmailEvents' }), mkdtempSync(path.join(s.workDir, 'cp-')));
    const list = path.join(mkdtempSync(path.join(s.workDir, 'files-')), 'read.txt');
    const env = { NODE_OPTIONS: `--require=${path.resolve('test/helpers/filesRead.cjs')}`, TA_TEST_FILES_READ: list };
    for (const [run, expected] of [['reads', [1, 2, 3]], ['quiet', []]] as const) {
      const r = await runInputProcess(SCHEME, [], config, { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(seqs(r.stdout).sort(), expected, run);
      const read = readFileSync(list, 'utf8').split('\n');
      assert.ok(read.some((f) => f.endsWith(path.join('bin', 'lib', 'collector.js'))), `${run}: the hook sees the collector bundle read`);
      assert.deepEqual(read.filter((f) => /azure-sdks/.test(f)), [], `${run}: the Azure SDKs bundle is not read`);
    }
  });

  test('a storage failure exits 1 with the reason in splunkd.log', async () => {
    const name = 'wrongkey';
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, Buffer.alloc(64, 1).toString('base64'));
    const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, params({ tables: 'DeviceProcessEvents' }), mkdtempSync(path.join(s.workDir, 'cp-'))));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR Poll failed: Cannot list the blobs of insights-logs-advancedhunting-deviceprocessevents: access denied \(403/);
    assert.equal(r.stdout, '<stream></stream>');
  });
});
