/**
 * The blob input's collection against Azurite (a real Blob service over https, trusted through
 * ca_file) and the splunkd stand-in for its secret: new blobs, growing blobs with half-written
 * lines, the three kinds of credential, thousands of records across ranged reads, forgetting.
 * The kill -9 case runs the built bundle in test/e2e/streaming-blob.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Settings } from '../../src/config/settings.js';
import type { PollSummary } from '../../src/sources/pollContext.js';
import { CHUNK_BYTES, collectStreamingBlob } from '../../src/sources/streaming-blob/index.js';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import { createLogger } from '../../src/splunk/log.js';
import { SplunkRest } from '../../src/splunk/rest.js';
import { parseStream, type StreamEvent } from '../../tools/harness.js';
import { SplunkdStandIn } from '../../tools/simulator/splunkd.js';
import { appendRaw, appendRecords, blobPath, newTenant, startAzurite, streamingRecord, type Azurite } from '../helpers/azurite.js';

const APP = 'TA-defender-xdr';
const SESSION = 'session-key-streaming';
const SETTINGS: Settings = { logLevel: 'DEBUG', reReadWindowSeconds: 300, requestTimeoutSeconds: 30, maxRetries: 2, resident: false };
let az: Azurite;
let splunkd: SplunkdStandIn;

before(async () => {
  az = await startAzurite();
  splunkd = new SplunkdStandIn({ sessionKey: SESSION });
  await splunkd.start();
});
after(async () => {
  await az?.stop();
  await splunkd?.stop();
});

let counter = 0;
interface Run {
  summary?: PollSummary;
  error?: Error;
  events: StreamEvent[];
  log: string;
}

/** A fresh input (stanza + secret) whose runs share one checkpoint folder. */
function newInput(params: Record<string, string> = {}, secret: string = az.key) {
  const stanza = `defender_xdr_streaming_blob://test${++counter}`;
  splunkd.setPassword(APP, APP, stanza, secret);
  const checkpointDir = mkdtempSync(path.join(tmpdir(), 'blob-cp-'));
  const base = { storage_account: az.account, blob_endpoint: az.endpoint, ca_file: az.caFile, ...params };
  return {
    stanza,
    checkpointDir,
    async run(nowMs = Date.now()): Promise<Run> {
      const out = new PassThrough();
      let stdout = '';
      out.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      const lines: string[] = [];
      const logger = createLogger({ write: (line) => lines.push(line), level: 'DEBUG' }, { input: stanza });
      const writer = new EventWriter(out, stanza);
      const result: Run = { events: [], log: '' };
      try {
        result.summary = await collectStreamingBlob({
          stanza, params: base, checkpointDir, settings: SETTINGS, writer, logger, nowMs,
          rest: new SplunkRest(splunkd.serverUri, SESSION),
        });
      } catch (error) {
        result.error = error as Error;
      }
      await writer.close();
      result.events = parseStream(stdout);
      result.log = lines.join('\n');
      return result;
    },
  };
}

const seqs = (events: StreamEvent[]) => events.map((e) => JSON.parse(e.data).Seq as number);

describe('streaming blob input against Azurite', () => {
  test('new blobs in several tables and tenants: every record once, source = table, _time = Timestamp, record flattened', async () => {
    const tenantA = newTenant();
    const tenantB = newTenant();
    const now = new Date();
    await appendRecords(az.service, 'DeviceProcessEvents', blobPath(tenantA, now), [1, 2, 3].map((n) => streamingRecord('DeviceProcessEvents', n, tenantA, now)));
    await appendRecords(az.service, 'DeviceProcessEvents', blobPath(tenantB, now), [4, 5].map((n) => streamingRecord('DeviceProcessEvents', n, tenantB, now)));
    await appendRecords(az.service, 'EmailEvents', blobPath(tenantA, new Date(now.getTime() - 3600_000)), [6].map((n) => streamingRecord('EmailEvents', n, tenantA, now)), { newline: '\n' });
    const input = newInput({ tables: 'DeviceProcessEvents,emailevents' });
    const first = await input.run();
    assert.equal(first.error, undefined, first.log);
    assert.deepEqual(seqs(first.events).sort(), [1, 2, 3, 4, 5, 6]);
    for (const e of first.events) {
      assert.equal(e.sourcetype, 'ms:defender:advancedhunting');
      const data = JSON.parse(e.data);
      assert.equal(e.source, data.category.replace('AdvancedHunting-', ''));
      assert.ok(Math.abs(e.time * 1000 - Date.parse(data.Timestamp.replace(/(\.\d{3})\d*Z$/, '$1Z'))) < 1, 'time from Timestamp');
      // columns at the top level, then the envelope
      assert.deepEqual(Object.keys(data).slice(0, 2), ['Timestamp', 'DeviceId']);
      assert.equal(data.operationName, 'Publish');
      assert.ok(data.tenantId === tenantA || data.tenantId === tenantB);
      assert.equal(data.properties, undefined);
    }
    assert.equal(first.summary?.emitted, 6);
    const second = await input.run();
    assert.equal(second.error, undefined, second.log);
    assert.deepEqual(second.events, [], 'nothing new, nothing re-emitted');
  });

  test('a growing blob: half-written lines wait for their end, appended records are read from the byte offset', async () => {
    const tenant = newTenant();
    const name = blobPath(tenant, new Date());
    const blob = await appendRecords(az.service, 'DeviceNetworkEvents', name, [1, 2].map((n) => streamingRecord('DeviceNetworkEvents', n, tenant)));
    const line3 = JSON.stringify(streamingRecord('DeviceNetworkEvents', 3, tenant)) + '\r\n';
    await appendRaw(blob, line3.slice(0, 40)); // the writer is mid-record
    const input = newInput({ tables: 'DeviceNetworkEvents' });
    const a = await input.run();
    assert.deepEqual(seqs(a.events), [1, 2]);
    await appendRaw(blob, line3.slice(40, -1)); // all but the final LF: "\r" pending
    const b = await input.run();
    assert.deepEqual(seqs(b.events), [3], 'a whole record without its newline is complete');
    await appendRaw(blob, '\n');
    await appendRecords(az.service, 'DeviceNetworkEvents', name, [4, 5, 6].map((n) => streamingRecord('DeviceNetworkEvents', n, tenant)));
    const c = await input.run();
    assert.deepEqual(seqs(c.events), [4, 5, 6]);
    const d = await input.run();
    assert.deepEqual(d.events, []);
    const checkpoint = JSON.parse(readFileSync(path.join(input.checkpointDir, readdirSync(input.checkpointDir).find((f) => f.endsWith('.json'))!), 'utf8'));
    const entry = checkpoint.blobs[`insights-logs-advancedhunting-devicenetworkevents/${name}`];
    const props = await blob.getProperties();
    assert.equal(entry.offset, props.contentLength, 'offset is the end of the last complete line');
  });

  test('thousands of records across many ranged reads, non-ASCII text split at range boundaries', async () => {
    const tenant = newTenant();
    const records = Array.from({ length: 6000 }, (_, i) => {
      const r = streamingRecord('DeviceFileEvents', i, tenant);
      (r.properties as Record<string, unknown>).FolderPath = `C:\\Users\\jürgen\\Документы\\文件${i}`;
      return r;
    });
    const blob = await appendRecords(az.service, 'DeviceFileEvents', blobPath(tenant, new Date()), records);
    const size = (await blob.getProperties()).contentLength ?? 0;
    assert.ok(size > 2 * CHUNK_BYTES, `blob of ${size} bytes spans several ranges`);
    const input = newInput({ tables: 'DeviceFileEvents' });
    const run = await input.run();
    assert.equal(run.error, undefined, run.log);
    assert.deepEqual(seqs(run.events), records.map((_, i) => i));
    assert.ok(run.events.every((e, i) => JSON.parse(e.data).FolderPath.endsWith(`文件${i}`)));
    assert.ok((run.summary?.pages ?? 0) >= 3);
  });

  test('a record longer than a range is read whole (the range grows), and a last record without its newline too', async () => {
    const tenant = newTenant();
    const big = streamingRecord('DeviceRegistryEvents', 2, tenant);
    (big.properties as Record<string, unknown>).RegistryValueData = 'ü'.repeat(Math.ceil(1.3 * CHUNK_BYTES));
    const blob = await appendRecords(az.service, 'DeviceRegistryEvents', blobPath(tenant, new Date()), [streamingRecord('DeviceRegistryEvents', 1, tenant), big, streamingRecord('DeviceRegistryEvents', 3, tenant)]);
    await appendRaw(blob, JSON.stringify(streamingRecord('DeviceRegistryEvents', 4, tenant)));
    const input = newInput({ tables: 'DeviceRegistryEvents' });
    const run = await input.run();
    assert.equal(run.error, undefined, run.log);
    assert.deepEqual(seqs(run.events), [1, 2, 3, 4]);
    assert.equal(JSON.parse(run.events[1].data).RegistryValueData.length, Math.ceil(1.3 * CHUNK_BYTES));
    assert.deepEqual((await input.run()).events, [], 'read to its end');
  });

  test('SAS token and connection string work too; containers are discovered without tables', async () => {
    const tenant = newTenant();
    await appendRecords(az.service, 'IdentityLogonEvents', blobPath(tenant, new Date()), [1, 2].map((n) => streamingRecord('IdentityLogonEvents', n, tenant)));
    const sas = az.sas();
    const bySas = newInput({ auth_type: 'sas_token', storage_account: '' }, `?${sas}`);
    const a = await bySas.run();
    assert.equal(a.error, undefined, a.log);
    assert.ok(seqs(a.events.filter((e) => e.source === 'IdentityLogonEvents')).length === 2, 'all containers listed');
    const sig = new URLSearchParams(sas).get('sig') ?? '';
    assert.ok(!a.log.includes(sig) && !a.log.includes(encodeURIComponent(sig)), 'SAS signature not logged');
    const byString = newInput({ auth_type: 'connection_string', storage_account: '', blob_endpoint: '', tables: 'IdentityLogonEvents' }, az.connectionString());
    const b = await byString.run();
    assert.equal(b.error, undefined, b.log);
    assert.deepEqual(seqs(b.events).sort(), [1, 2]);
    assert.ok(!b.log.includes(az.key));
  });

  test('a wrong key, a missing secret and an untrusted certificate fail with what to fix, and nothing is checkpointed', async () => {
    const wrong = newInput({ tables: 'DeviceProcessEvents' }, Buffer.alloc(64, 7).toString('base64'));
    const a = await wrong.run();
    assert.match(a.error?.message ?? '', /403.*Check the key, SAS token/);
    const missing = newInput({ tables: 'DeviceProcessEvents' });
    splunkd.setPassword(APP, APP, missing.stanza, '');
    const b = await missing.run();
    assert.match(b.error?.message ?? '', /No storage account key is stored for input "defender_xdr_streaming_blob:\/\/test\d+" \(storage\/passwords realm TA-defender-xdr/);
    const untrusted = newInput({ tables: 'DeviceProcessEvents', ca_file: '' });
    const c = await untrusted.run();
    assert.match(c.error?.message ?? '', /certificate/i, 'TLS verification stays on');
    const notKey = newInput({ tables: 'DeviceProcessEvents' }, 'not a key!');
    assert.match((await notKey.run()).error?.message ?? '', /not a base64 key/);
    for (const input of [wrong, missing, untrusted]) assert.ok(!readdirSync(input.checkpointDir).some((f) => f.endsWith('.json') && !f.includes('lock')));
  });

  test('finished blobs are forgotten after hours, and not read again', async () => {
    const tenant = newTenant();
    await appendRecords(az.service, 'AlertInfo', blobPath(tenant, new Date()), [1, 2, 3].map((n) => streamingRecord('AlertInfo', n, tenant)));
    const input = newInput({ tables: 'AlertInfo' });
    const a = await input.run();
    assert.deepEqual(seqs(a.events), [1, 2, 3]);
    assert.equal(a.summary?.blobs_tracked, 1);
    const later = await input.run(Date.now() + 4 * 3600_000);
    assert.deepEqual(later.events, []);
    assert.equal(later.summary?.blobs_tracked, 0);
    assert.equal(later.summary?.blobs_forgotten, 1);
    const again = await input.run(Date.now() + 5 * 3600_000);
    assert.deepEqual(again.events, [], 'a forgotten blob is before the horizon');
  });
});
