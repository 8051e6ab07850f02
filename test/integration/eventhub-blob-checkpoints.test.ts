/**
 * The Event Hubs input's shared checkpoint store (checkpoint_store = blob): the SDK's own
 * BlobCheckpointStore on a container in Azurite, reached through the add-on's transport (https,
 * ca_file). Checks the CheckpointStore contract the run relies on, and a run whose partitions are
 * checkpointed there resumes where it stopped.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { azureHttpClient } from '../../src/azure/httpClient.js';
import { HttpClient } from '../../src/http/client.js';
import { consume } from '../../src/sources/streaming-eventhub/consume.js';
import { EventWriter } from '../../src/splunk/eventWriter.js';
import { createLogger } from '../../src/splunk/log.js';
import { parseStream } from '../../tools/harness.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { FakeEventHub } from '../helpers/fakeEventHub.js';

let az: Azurite;
let http: HttpClient;
let container: ContainerClient;
before(async () => {
  az = await startAzurite();
  http = new HttpClient({ logger: createLogger({ write: () => undefined }), caFile: az.caFile });
  container = new ContainerClient(`${az.endpoint}/eventhub-checkpoints`, new StorageSharedKeyCredential(az.account, az.key), { httpClient: azureHttpClient(http) });
  await container.create();
});
after(async () => {
  await http?.close();
  await az?.stop();
});

test('BlobCheckpointStore through our transport: etag-guarded claims and per-partition checkpoints', async () => {
  const store = new BlobCheckpointStore(container);
  const ns = 'contoso-defender.servicebus.windows.net';
  const claim = (etag?: string) => store.claimOwnership([{ fullyQualifiedNamespace: ns, eventHubName: 'hub', consumerGroup: '$Default', partitionId: '0', ownerId: 'a', etag }]);
  const [first] = await claim();
  assert.ok(first.etag);
  assert.deepEqual(await claim('"0x1"'), [], 'a stale etag does not win');
  assert.equal((await claim(first.etag)).length, 1);
  await store.updateCheckpoint({ fullyQualifiedNamespace: ns, eventHubName: 'hub', consumerGroup: '$Default', partitionId: '0', sequenceNumber: 41, offset: '4100' });
  assert.deepEqual(await store.listCheckpoints(ns, 'hub', '$Default'), [{ fullyQualifiedNamespace: ns, eventHubName: 'hub', consumerGroup: '$Default', partitionId: '0', sequenceNumber: 41, offset: '4100' }]);
});

test('a run checkpointed in the blob store resumes after its checkpoints', async () => {
  const hub = new FakeEventHub('insights-logs-advancedhunting-emailevents', 3);
  for (let p = 0; p < 3; p++) hub.send(String(p), Array.from({ length: 40 }, (_, i) => ({ records: [{ category: 'AdvancedHunting-EmailEvents', properties: { Seq: p * 100 + i } }] })));
  const runOnce = async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const writer = new EventWriter(out, 'defender_xdr_streaming_eventhub://shared');
    const store = new BlobCheckpointStore(container);
    const summary = await consume(hub.consumer('splunk', store), {
      writer, logger: createLogger({ write: () => undefined }), runMs: 10_000, idleSeconds: 1, maxBatchSize: 7,
      startPosition: 'earliest', checkpointStore: store, consumerGroup: 'splunk', ownsAllPartitions: false, sharedSettleMs: 200,
    });
    await writer.close();
    return { summary, seqs: parseStream(text).map((e) => JSON.parse(e.data).Seq as number) };
  };
  const first = await runOnce();
  assert.equal(first.summary.ended_by, 'caught_up');
  assert.equal(new Set(first.seqs).size, 120);
  hub.send('1', [{ records: [{ category: 'AdvancedHunting-EmailEvents', properties: { Seq: 999 } }] }]);
  const second = await runOnce();
  assert.deepEqual(second.seqs, [999]);
});
