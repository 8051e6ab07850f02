/**
 * The Event Hubs input's logic over @azure/event-hubs' public types: message-to-event mapping,
 * the file checkpoint store (the SDK's CheckpointStore contract, kill-safety, concurrency), and a
 * run's partition/checkpoint behaviour against an in-memory hub that follows the SDK's documented
 * processor behaviour (test/helpers/fakeEventHub.ts). A real Event Hub is not reachable here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { ReceivedEventData } from '@azure/event-hubs';
import { expiryOf, tokenCredential } from '../../src/azure/tokenCredential.js';
import type { TokenProvider } from '../../src/microsoft/auth.js';
import { batchEvents, consume, isFatal, type ConsumeOptions } from '../../src/sources/streaming-eventhub/consume.js';
import { eventHubParamsProblem, streamingEventHubDefinition } from '../../src/sources/streaming-eventhub/definition.js';
import { FileCheckpointStore, type EventHubCheckpointFile } from '../../src/sources/streaming-eventhub/fileCheckpointStore.js';
import { CheckpointStore } from '../../src/splunk/checkpoint.js';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import { createLogger } from '../../src/splunk/log.js';
import { validateParams } from '../../src/splunk/scheme.js';
import { parseStream } from '../../tools/harness.js';
import { FakeEventHub, receivedEvent } from '../helpers/fakeEventHub.js';

const TENANT = '8f3a3c52-1f4b-4e0b-9a62-6a3d2d1e7c10';
const record = (table: string, seq: number) => ({
  time: '2024-05-01T10:00:01.0000000Z',
  tenantId: TENANT,
  operationName: 'Publish',
  category: `AdvancedHunting-${table}`,
  properties: { Timestamp: '2024-05-01T10:00:00.1234567Z', DeviceName: 'ws-1', Seq: seq },
});
const received = (body: unknown, sequenceNumber = 0): ReceivedEventData => receivedEvent(body, sequenceNumber);

function collector() {
  const lines: string[] = [];
  return { lines, logger: createLogger({ write: (l) => lines.push(l), level: 'DEBUG' }) };
}

describe('message to events', () => {
  test('a {"records": [...]} body (as the SDK parses JSON bodies) gives one event per record, source = table', () => {
    const { logger } = collector();
    const events = batchEvents([received({ records: [record('DeviceProcessEvents', 1), record('EmailEvents', 2)] }), received({ records: [record('AlertInfo', 3)] }, 1)], 'insights-logs-advancedhunting-deviceprocessevents', 0, logger, 'defender');
    assert.deepEqual(events.map((e) => [e.source, JSON.parse(String(e.data)).Seq, e.index, e.sourcetype]), [
      ['DeviceProcessEvents', 1, 'defender', 'ms:defender:advancedhunting'],
      ['EmailEvents', 2, 'defender', 'ms:defender:advancedhunting'],
      ['AlertInfo', 3, 'defender', 'ms:defender:advancedhunting'],
    ]);
    assert.equal(events[0].timeMs, Date.parse('2024-05-01T10:00:00.123Z'));
    assert.equal(JSON.parse(String(events[0].data)).tenantId, TENANT);
  });

  test('bytes and strings (skipParsingBodyAsJson, other producers), a bare record, and a non-JSON body', () => {
    const { logger, lines } = collector();
    const bytes = Buffer.from(JSON.stringify({ records: [record('DeviceFileEvents', 1)] }));
    const events = batchEvents([received(bytes), received(JSON.stringify(record('DeviceFileEvents', 2)), 1), received(record('DeviceFileEvents', 3), 2), received('not json at all', 3)], 'insights-logs-advancedhunting-devicefileevents', 42, logger);
    assert.deepEqual(events.slice(0, 3).map((e) => JSON.parse(String(e.data)).Seq), [1, 2, 3]);
    assert.deepEqual([events[3].data, events[3].source, events[3].timeMs], ['not json at all', 'DeviceFileEvents', 42]);
    assert.match(lines.join('\n'), /WARN An Event Hubs message is not JSON/);
    assert.ok(!lines.join('\n').includes('not json at all'), 'the body itself is not logged');
  });

  test('records without a category take the table from the hub name', () => {
    const events = batchEvents([received({ records: [{ properties: { Seq: 1 } }] })], 'insights-logs-advancedhunting-identitylogonevents', 0, collector().logger);
    assert.equal(events[0].source, 'IdentityLogonEvents');
  });
});

describe('file checkpoint store (the SDK CheckpointStore contract)', () => {
  const newStore = async (dir = mkdtempSync(path.join(tmpdir(), 'eh-cp-'))) => ({ dir, store: await FileCheckpointStore.forInput(dir, 'defender_xdr_streaming_eventhub://t', collector().logger) });
  const ns = 'contoso.servicebus.windows.net';

  test('claims need the etag last seen; a claim with a stale etag is refused', async () => {
    const { store } = await newStore();
    const ask = (etag?: string) => store.claimOwnership([{ fullyQualifiedNamespace: ns, eventHubName: 'hub', consumerGroup: '$Default', partitionId: '0', ownerId: 'me', etag }]);
    const [first] = await ask();
    assert.ok(first.etag && first.lastModifiedTimeInMs);
    assert.deepEqual(await ask(), [], 'no etag while one exists');
    assert.deepEqual(await ask('stale'), []);
    const [renewed] = await ask(first.etag);
    assert.notEqual(renewed.etag, first.etag);
    assert.equal((await store.listOwnership(ns.toUpperCase(), 'HUB', '$default')).length, 1, 'names are case-insensitive');
    assert.equal((await store.listOwnership(ns, 'other', '$Default')).length, 0);
  });

  test('checkpoints persist atomically, per namespace/hub/group, never move back, and concurrent saves all land', async () => {
    const { dir, store } = await newStore();
    const cp = (partitionId: string, sequenceNumber: number, eventHubName = 'hub') => ({ fullyQualifiedNamespace: ns, eventHubName, consumerGroup: '$Default', partitionId, sequenceNumber, offset: String(sequenceNumber * 10) });
    await Promise.all(Array.from({ length: 32 }, (_, i) => store.updateCheckpoint(cp(String(i), 100 + i))));
    await store.updateCheckpoint(cp('0', 5));
    await store.updateCheckpoint(cp('0', 7, 'otherhub'));
    await store.flush();
    const reopened = await FileCheckpointStore.forInput(dir, 'defender_xdr_streaming_eventhub://t', collector().logger);
    const list = await reopened.listCheckpoints(ns, 'hub', '$Default');
    assert.equal(list.length, 32);
    assert.deepEqual(list.find((c) => c.partitionId === '0'), cp('0', 100));
    assert.deepEqual(await reopened.listCheckpoints(ns, 'otherhub', '$Default'), [cp('0', 7, 'otherhub')]);
    assert.deepEqual(await reopened.listOwnership(ns, 'hub', '$Default'), [], 'ownership is not carried to the next run');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
  });

  test('written at most once per interval (the first at once), the latest on flush, and synchronously by saveSync', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-cp-'));
    const store = await FileCheckpointStore.forInput(dir, 'defender_xdr_streaming_eventhub://t', collector().logger, 300);
    const cp = (sequenceNumber: number) => ({ fullyQualifiedNamespace: ns, eventHubName: 'hub', consumerGroup: '$Default', partitionId: '0', sequenceNumber, offset: String(sequenceNumber) });
    const onDisk = () => (JSON.parse(readFileSync(store.file, 'utf8')) as EventHubCheckpointFile).checkpoints[`${ns}/hub/$default/0`]?.sequenceNumber;
    await store.updateCheckpoint(cp(1));
    assert.equal(onDisk(), 1, 'the first checkpoint is written at once');
    await store.updateCheckpoint(cp(2));
    await store.updateCheckpoint(cp(3));
    assert.equal(onDisk(), 1, 'later ones wait for the interval');
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal(onDisk(), 3, 'written when the interval ended');
    await new Promise((resolve) => setTimeout(resolve, 350));
    await store.updateCheckpoint(cp(4));
    assert.equal(onDisk(), 4, 'the interval had passed: written at once');
    await store.updateCheckpoint(cp(5));
    assert.equal(onDisk(), 4);
    store.saveSync();
    assert.equal(onDisk(), 5, 'saveSync (SIGTERM) writes what is pending before returning');
    await store.updateCheckpoint(cp(6));
    await store.flush();
    assert.equal(onDisk(), 6, 'flush (the run ends) writes the latest');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
  });

  test('a corrupt file is moved aside and the store starts empty (logged)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-cp-'));
    const { logger, lines } = collector();
    const file = new CheckpointStore(dir, 'defender_xdr_streaming_eventhub://t', logger).file;
    writeFileSync(file, '{"version":1,"checkpoints":{"x":{"sequenceNumber":"NaN"');
    const store = await FileCheckpointStore.open(new CheckpointStore(dir, 'defender_xdr_streaming_eventhub://t', logger));
    assert.deepEqual(await store.listCheckpoints(ns, 'hub', '$Default'), []);
    assert.match(lines.join('\n'), /ERROR Checkpoint is corrupt/);
  });
});

describe('a run over the hub', () => {
  const HUB = 'insights-logs-advancedhunting-deviceprocessevents';

  async function run(hub: FakeEventHub, dir: string, extra: Partial<ConsumeOptions> & { faults?: Parameters<FakeEventHub['consumer']>[2]; store?: FileCheckpointStore } = {}) {
    const { logger, lines } = collector();
    const store = extra.store ?? (await FileCheckpointStore.forInput(dir, 'defender_xdr_streaming_eventhub://t', logger));
    const out = new PassThrough();
    let stdout = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    const writer = new EventWriter(out, 'defender_xdr_streaming_eventhub://t');
    const consumer = hub.consumer('$Default', store, extra.faults);
    let error: Error | undefined;
    let summary;
    try {
      summary = await consume(consumer, { writer, logger, runMs: 5000, idleSeconds: 1, maxBatchSize: 50, startPosition: 'earliest', ownsAllPartitions: true, checkpointStore: store, consumerGroup: '$Default', flushCheckpoints: () => store.flush(), ...extra });
    } catch (e) {
      error = e as Error;
    }
    await writer.close();
    const seqs = parseStream(stdout).map((e) => JSON.parse(String(e.data)).Seq as number);
    return { summary, error, seqs, log: lines.join('\n'), store };
  }

  const fill = (hub: FakeEventHub, partition: string, from: number, count: number, perMessage = 3) => {
    const bodies = [];
    for (let i = from; i < from + count; i += perMessage) bodies.push({ records: Array.from({ length: Math.min(perMessage, from + count - i) }, (_, k) => record('DeviceProcessEvents', i + k)) });
    hub.send(partition, bodies);
  };

  test('every partition is read to its end, checkpointed, and the next run starts after the checkpoints', async () => {
    const hub = new FakeEventHub(HUB, 4);
    for (let p = 0; p < 4; p++) fill(hub, String(p), p * 10_000, 1000);
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    const first = await run(hub, dir);
    assert.equal(first.error, undefined, first.log);
    assert.equal(first.summary?.ended_by, 'caught_up');
    assert.equal(first.seqs.length, 4000);
    assert.equal(new Set(first.seqs).size, 4000);
    const checkpoints = await first.store.listCheckpoints(hub.namespace, HUB, '$Default');
    assert.deepEqual(checkpoints.map((c) => c.sequenceNumber).sort(), [333, 333, 333, 333], 'last message of each partition');
    const quiet = await run(hub, dir);
    assert.deepEqual(quiet.seqs, []);
    fill(hub, '2', 50_000, 30);
    const more = await run(hub, dir);
    assert.deepEqual(more.seqs, Array.from({ length: 30 }, (_, i) => 50_000 + i));
  });

  test('start_position latest skips what the hub held before the first run, only for partitions without a checkpoint', async () => {
    const hub = new FakeEventHub(HUB, 2);
    fill(hub, '0', 0, 9);
    fill(hub, '1', 100, 9);
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    const empty = new FakeEventHub(HUB, 1);
    const first = await run(hub, dir, { startPosition: 'latest' });
    assert.deepEqual(first.seqs, []);
    assert.match(first.log, /start_position = latest: partition starts after its last enqueued event partition=0 sequence_number=2/);
    fill(hub, '0', 10, 3); // between runs: must not be skipped by the next run's "latest"
    const second = await run(hub, dir, { startPosition: 'latest' });
    assert.deepEqual(second.seqs, [10, 11, 12]);
    // An empty partition has nothing to skip.
    const emptyDir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    assert.deepEqual((await run(empty, emptyDir, { startPosition: 'latest' })).seqs, []);
    fill(empty, '0', 0, 3);
    assert.deepEqual((await run(empty, emptyDir, { startPosition: 'latest' })).seqs, [0, 1, 2]);
  });

  test('a crash between emitting a batch and its checkpoint repeats at most that batch, and loses nothing', async () => {
    const hub = new FakeEventHub(HUB, 2);
    fill(hub, '0', 0, 600);
    fill(hub, '1', 1000, 600);
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    // Written at every checkpoint (interval 0): what is checked here is the order, emit then checkpoint.
    const store = await FileCheckpointStore.forInput(dir, 'defender_xdr_streaming_eventhub://t', collector().logger, 0);
    let saves = 0;
    const original = store.updateCheckpoint.bind(store);
    store.updateCheckpoint = async (checkpoint) => {
      if (++saves === 3) throw new Error('killed (simulated: the process died before this checkpoint reached the disk)');
      return original(checkpoint);
    };
    const crashed = await run(hub, dir, { store, maxBatchSize: 20 });
    assert.match(crashed.error?.message ?? '', /killed/);
    const rerun = await run(hub, dir, { maxBatchSize: 20 });
    assert.equal(rerun.error, undefined, rerun.log);
    const all = [...crashed.seqs, ...rerun.seqs];
    assert.equal(new Set(all).size, 1200, 'no record lost');
    const duplicates = all.length - 1200;
    // Batches in flight on both partitions when the run stopped: at most one per partition.
    assert.ok(duplicates > 0 && duplicates <= 2 * 20 * 3, `${duplicates} duplicates`);
  });

  test('a partition that never catches up ends the run at run_seconds, checkpointed', async () => {
    const hub = new FakeEventHub(HUB, 1);
    fill(hub, '0', 0, 150_000);
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    const r = await run(hub, dir, { runMs: 300, maxBatchSize: 5 });
    assert.equal(r.summary?.ended_by, 'run_time');
    const [checkpoint] = await r.store.listCheckpoints(hub.namespace, HUB, '$Default');
    assert.ok(r.seqs.length > 0 && r.seqs.length < 150_000);
    assert.equal(Math.max(...r.seqs), checkpoint.sequenceNumber * 3 + 2, 'checkpoint = last emitted message');
    const next = await run(hub, dir, { runMs: 300, maxBatchSize: 5 });
    assert.equal(next.seqs[0], Math.max(...r.seqs) + 1, 'the next run continues after it');
  });

  test('credentials refused: the run fails with what to fix; a retryable error is only a warning', async () => {
    const hub = new FakeEventHub(HUB, 2);
    fill(hub, '0', 0, 6);
    const dir = mkdtempSync(path.join(tmpdir(), 'eh-run-'));
    const unauthorized = Object.assign(new Error('Unauthorized access. Listen claim(s) are required.'), { code: 'UnauthorizedError', retryable: false });
    const refused = await run(hub, dir, { faults: [{ error: unauthorized }] });
    assert.match(refused.error?.message ?? '', /refused the credentials.*Listen claim.*Data Receiver role/);
    const busy = Object.assign(new Error('The server is busy.'), { code: 'ServerBusyError', retryable: true });
    const warned = await run(hub, dir, { faults: [{ error: busy, partition: '1' }] });
    assert.equal(warned.error, undefined);
    assert.deepEqual(warned.seqs, [0, 1, 2, 3, 4, 5]);
    assert.match(warned.log, /WARN Event Hubs reported an error; the client retries .*code=ServerBusyError/);
    assert.equal(isFatal(Object.assign(new Error('x'), { code: 'MessagingEntityNotFoundError' })), true);
    assert.equal(isFatal(Object.assign(new Error('x'), { code: 'ServiceUnavailableError', retryable: true })), false);
  });
});

describe('parameters and credentials', () => {
  test('combinations are checked with the field named', () => {
    const check = (params: Record<string, string>) => validateParams(streamingEventHubDefinition, params) ?? eventHubParamsProblem(params);
    assert.equal(check({}), undefined, 'a connection string carries everything');
    assert.match(check({ auth_type: 'entra' }) ?? '', /Account \(account\) is required with auth_type = entra/);
    assert.match(check({ auth_type: 'entra', account: 'prod', event_hub: 'h' }) ?? '', /namespace.*required/);
    assert.match(check({ checkpoint_store: 'blob' }) ?? '', /checkpoint_container_url.*required/);
    assert.match(check({ checkpoint_store: 'blob', checkpoint_container_url: 'https://a.blob.core.windows.net/c?sig=x' }) ?? '', /must not contain a query/);
    assert.match(check({ namespace: 'https://x' }) ?? '', /not a fully qualified namespace/);
    assert.match(check({ run_seconds: '5' }) ?? '', /Run time .*10 to 3600/);
    assert.match(check({ auth_type: 'sas' }) ?? '', /one of connection_string, entra/);
  });

  test('the TokenCredential asks the account for the SDK scope and reports the JWT expiry', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const jwt = ['e30', Buffer.from(JSON.stringify({ exp })).toString('base64url'), 'sig'].join('.');
    const asked: string[] = [];
    const credential = tokenCredential({ token: async (resource: string) => (asked.push(resource), jwt) } as unknown as TokenProvider);
    const token = await credential.getToken('https://eventhubs.azure.net/.default');
    assert.deepEqual(asked, ['https://eventhubs.azure.net']);
    assert.deepEqual(token, { token: jwt, expiresOnTimestamp: exp * 1000 });
    assert.equal(expiryOf('opaque', 1000), 1000 + 300_000);
  });
});
