/**
 * The Event Hubs stand-in (tools/simulator/eventHubs.ts) against the real @azure/event-hubs SDK
 * over AMQP over WebSockets, checked against what the SDK documents: partition ids and properties
 * from management READ, event positions (earliest, latest, offset, sequence number, enqueued time),
 * bodies and annotations, credentials refused, entities not found, epochs (ownerLevel) and the
 * faults the SDK retries by itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventHubConsumerClient, earliestEventPosition, latestEventPosition, type EventHubConsumerClientOptions, type ReceivedEventData, type Subscription } from '@azure/event-hubs';
import rhea, { type EventContext } from 'rhea';
import { Agent } from 'undici';
import { dispatcherWebSocket } from '../../src/azure/webSocket.js';
import { EventHubsStandIn, type SasPolicy } from '../../tools/simulator/eventHubs.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const HUB = 'insights-logs-advancedhunting-deviceevents';
const policy: SasPolicy = { name: 'splunk-listen', key: 'c2VjcmV0LWtleS1mb3ItdGVzdHM=' };
const JWT = 'eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2V2ZW50aHVicy5henVyZS5uZXQifQ.sig';
let hub: EventHubsStandIn;
let agent: Agent;
let caFile: string;
const clients: EventHubConsumerClient[] = [];

before(async () => {
  const tls = await makeLocalCertificate();
  hub = new EventHubsStandIn({ tls, hubs: [{ name: HUB, partitions: 2, consumerGroups: ['splunk'] }], policies: [policy], jwtProblem: (t) => (t === JWT ? undefined : 'unknown token'), amqps: true });
  caFile = path.join(mkdtempSync(path.join(tmpdir(), 'eh-ca-')), 'ca.pem');
  writeFileSync(caFile, tls.cert);
  await hub.start();
  agent = new Agent({ connect: { ca: tls.cert } });
});
after(async () => {
  // The SDK leaves timers behind after close() (its token renewal, retry waits after faults: issue
  // 23), which keep this file's process alive for ever once its tests have reported. The input has
  // its own exit guard; this file gets one too, with the exit code the test runner has set.
  setTimeout(() => process.exit(), 5_000).unref();
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await hub?.stop();
  await agent?.close();
});

function client(options: { group?: string; key?: string; hubName?: string; credential?: boolean } = {}, extra: EventHubConsumerClientOptions = {}): EventHubConsumerClient {
  const opts: EventHubConsumerClientOptions = { webSocketOptions: { webSocket: dispatcherWebSocket(agent) }, retryOptions: { maxRetries: 0, retryDelayInMs: 200, timeoutInMs: 10_000 }, ...extra };
  const c = options.credential
    ? new EventHubConsumerClient(options.group ?? '$Default', hub.namespace, options.hubName ?? HUB, { getToken: async () => ({ token: JWT, expiresOnTimestamp: Date.now() + 3600_000 }) }, opts)
    : new EventHubConsumerClient(options.group ?? '$Default', hub.connectionString(policy, options.hubName ?? HUB, options.key ?? policy.key), opts);
  clients.push(c);
  return c;
}

/** A SAS token for `audience`, signed as the SDK signs one from a connection string. */
function sasToken(audience: string): string {
  const sr = encodeURIComponent(audience);
  const se = Math.floor(Date.now() / 1000) + 3600;
  const sig = encodeURIComponent(createHmac('sha256', Buffer.from(policy.key, 'utf8')).update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}&skn=${policy.name}`;
}

const records = (p: string, n: number) => ({ records: [{ time: new Date().toISOString(), category: 'AdvancedHunting-DeviceEvents', properties: { p, n } }] });

/** Collects events from one partition until `count` arrived (or the deadline). */
async function receive(c: EventHubConsumerClient, partition: string, count: number, options: Parameters<EventHubConsumerClient['subscribe']>[2] = {}, deadlineMs = 15_000): Promise<{ events: ReceivedEventData[]; errors: Error[]; subscription: Subscription }> {
  const events: ReceivedEventData[] = [];
  const errors: Error[] = [];
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscription = c.subscribe(partition, {
    processEvents: async (batch) => {
      events.push(...batch);
      if (events.length >= count) done();
    },
    processError: async (error) => {
      errors.push(error);
    },
  }, { maxWaitTimeInSeconds: 1, ...options });
  const deadline = setTimeout(done, deadlineMs);
  await finished;
  clearTimeout(deadline);
  return { events, errors, subscription };
}

describe('Event Hubs stand-in with the real SDK over AMQP over WebSockets', () => {
  test('management READ: partition ids, and partition properties that follow what arrives', async () => {
    const c = client();
    assert.deepEqual(await c.getPartitionIds(), ['0', '1']);
    const empty = await c.getPartitionProperties('1');
    assert.equal(empty.isEmpty, true);
    assert.equal(empty.lastEnqueuedSequenceNumber, -1);
    hub.send(HUB, '1', [records('1', 0), records('1', 1)]);
    const props = await c.getPartitionProperties('1');
    assert.equal(props.isEmpty, false);
    assert.equal(props.lastEnqueuedSequenceNumber, 1);
    assert.equal(props.lastEnqueuedOffset, hub.events(HUB, '1')[1]!.offset);
    const hubProps = await c.getEventHubProperties();
    assert.equal(hubProps.name, HUB);
    assert.deepEqual(hubProps.partitionIds, ['0', '1']);
    assert.ok(hub.cbs.some((r) => r.type === 'servicebus.windows.net:sastoken' && r.status === 202 && r.audience.endsWith(`/${HUB}/$management`)));
  });

  test('earliest: every message, body parsed from the JSON data section, with sequence number, offset and enqueued time', async () => {
    hub.send(HUB, '0', [records('0', 0), records('0', 1), records('0', 2)]);
    const { events, errors, subscription } = await receive(client(), '0', 3, { startPosition: earliestEventPosition });
    await subscription.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(events.map((e) => (e.body as { records: { properties: { n: number } }[] }).records[0]!.properties.n), [0, 1, 2]);
    assert.deepEqual(events.map((e) => e.sequenceNumber), [0, 1, 2]);
    assert.deepEqual(events.map((e) => e.offset), hub.events(HUB, '0').slice(0, 3).map((e) => e.offset));
    assert.ok(events.every((e) => e.enqueuedTimeUtc instanceof Date && e.enqueuedTimeUtc.getTime() > 0));
    const attach = hub.attaches.find((a) => a.partition === '0')!;
    assert.equal(attach.filter, "amqp.annotation.x-opt-offset > '-1'");
    assert.equal(attach.epoch, undefined, 'no epoch without a checkpoint store');
  });

  test('settle mode: the SDK (snd-settle-mode mixed, auto-accept) gets its deliveries pre-settled and sends no disposition; a receiver asking for unsettled ones settles each', async () => {
    hub.addHub({ name: 'settle', partitions: 1 });
    hub.send('settle', '0', [records('0', 0), records('0', 1), records('0', 2)]);
    const before = hub.partitionSettlements;
    const { events, subscription } = await receive(client({ hubName: 'settle' }), '0', 3, { startPosition: earliestEventPosition });
    await subscription.close();
    assert.equal(events.length, 3);
    assert.equal(hub.attaches.find((a) => a.hub === 'settle')!.presettled, true);
    assert.equal(hub.partitionSettlements, before, 'no disposition for pre-settled deliveries');

    // A bare rhea receiver over amqps that asks for unsettled deliveries (snd-settle-mode 0).
    const container = rhea.create_container({ id: 'settle-probe' });
    const connection = container.connect({ transport: 'tls', host: '127.0.0.1', port: hub.amqpsPort, ca: readFileSync(caFile, 'utf8'), reconnect: false } as never);
    try {
      const audience = `sb://${hub.namespace}/settle`;
      await new Promise<void>((resolve, reject) => {
        const replies = connection.open_receiver({ source: { address: '$cbs' }, target: { address: 'cbs-reply' } } as never);
        const requests = connection.open_sender({ target: { address: '$cbs' } } as never);
        replies.once('message', (ctx: EventContext) => (Number((ctx.message!.application_properties as Record<string, unknown>)['status-code']) === 202 ? resolve() : reject(new Error('put-token refused'))));
        requests.once('sendable', () => requests.send({ message_id: 'put-1', reply_to: 'cbs-reply', body: sasToken(audience), application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience } } as never));
      });
      const settledFlags = await new Promise<boolean[]>((resolve) => {
        const flags: boolean[] = [];
        const receiver = connection.open_receiver({ source: { address: 'settle/ConsumerGroups/$Default/Partitions/0', filter: rhea.filter.selector("amqp.annotation.x-opt-offset > '-1'") }, snd_settle_mode: 0, credit_window: 10, autoaccept: true } as never);
        receiver.on('message', (ctx: EventContext) => {
          flags.push(ctx.delivery!.remote_settled);
          if (flags.length === 3) resolve(flags);
        });
      });
      assert.deepEqual(settledFlags, [false, false, false]);
      assert.equal(hub.attaches.filter((a) => a.hub === 'settle').at(-1)!.presettled, false);
      const deadline = Date.now() + 5_000;
      while (hub.partitionSettlements < before + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(hub.partitionSettlements, before + 3, 'each unsettled delivery settled by the receiver');
    } finally {
      connection.close();
    }
  });

  test('positions: after an offset, from a sequence number, after an enqueued time, latest', async () => {
    const stored = hub.events(HUB, '0');
    const c = client();
    const afterOffset = await receive(c, '0', 2, { startPosition: { offset: stored[0]!.offset } });
    await afterOffset.subscription.close();
    assert.deepEqual(afterOffset.events.map((e) => e.sequenceNumber), [1, 2]);
    const fromSequence = await receive(c, '0', 1, { startPosition: { sequenceNumber: 2, isInclusive: true } });
    await fromSequence.subscription.close();
    assert.deepEqual(fromSequence.events.map((e) => e.sequenceNumber), [2]);
    const afterTime = await receive(c, '0', 3, { startPosition: { enqueuedOn: new Date(stored[0]!.enqueuedTime - 1) } });
    await afterTime.subscription.close();
    assert.deepEqual(afterTime.events.map((e) => e.sequenceNumber), [0, 1, 2]);
    const latest = receive(c, '0', 1, { startPosition: latestEventPosition });
    await new Promise((r) => setTimeout(r, 500));
    hub.send(HUB, '0', [records('0', 3)]);
    const l = await latest;
    await l.subscription.close();
    assert.deepEqual(l.events.map((e) => e.sequenceNumber), [3]);
    assert.ok(hub.attaches.some((a) => a.filter === "amqp.annotation.x-opt-sequence-number >= '2'"));
    assert.ok(hub.attaches.some((a) => a.filter === "amqp.annotation.x-opt-offset > '@latest'"));
  });

  test('a sequence number past the end is refused as the service does (ArgumentOutOfRangeError)', async () => {
    const { errors, subscription } = await receive(client(), '1', 1, { startPosition: { sequenceNumber: 99 } }, 2000);
    await subscription.close();
    assert.ok(errors.some((e) => (e as { code?: string }).code === 'ArgumentOutOfRangeError' && /sequence number '99' is invalid/.test(e.message)), errors.map(String).join());
  });

  test('a wrong key is refused at put-token: UnauthorizedError (retryable, so the SDK retries it)', async () => {
    const err = await client({ key: 'wrong-key' }).getPartitionIds().then(() => undefined, (e: unknown) => e as { code?: string; retryable?: boolean });
    assert.equal(err?.code, 'UnauthorizedError');
    assert.equal(err?.retryable, true);
    assert.ok(hub.cbs.some((r) => r.status === 401));
  });

  test('an unknown hub: MessagingEntityNotFoundError from management; an unknown consumer group: from the attach', async () => {
    const err = await client({ hubName: 'no-such-hub' }).getPartitionIds().then(() => undefined, (e: unknown) => e as { code?: string });
    assert.equal(err?.code, 'MessagingEntityNotFoundError');
    const { errors, subscription } = await receive(client({ group: 'nobody' }), '0', 1, {}, 2000);
    await subscription.close();
    assert.ok(errors.some((e) => (e as { code?: string }).code === 'MessagingEntityNotFoundError'), errors.map(String).join());
  });

  test('Entra: the JWT is put on $cbs (type jwt) and opens the partition', async () => {
    const { events, errors, subscription } = await receive(client({ credential: true, group: 'splunk' }), '1', 2, { startPosition: earliestEventPosition });
    await subscription.close();
    assert.deepEqual(errors, []);
    assert.equal(events.length, 2);
    assert.ok(hub.cbs.some((r) => r.type === 'jwt' && r.status === 202 && /ConsumerGroups\/splunk\/Partitions\/1$/.test(r.audience)));
  });

  test('epochs: a receiver with a higher owner level takes the partition, the older one gets ReceiverDisconnectedError', async () => {
    const first = await receive(client({ group: 'splunk' }), '0', 4, { ownerLevel: 1, startPosition: earliestEventPosition });
    const second = await receive(client({ group: 'splunk' }), '0', 4, { ownerLevel: 2, startPosition: earliestEventPosition });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(first.errors.some((e) => (e as { code?: string }).code === 'ReceiverDisconnectedError' && /higher epoch of '2'/.test(e.message)), first.errors.map(String).join());
    const lower = await receive(client({ group: 'splunk' }), '0', 1, { ownerLevel: 1 }, 2000);
    assert.ok(lower.errors.some((e) => (e as { code?: string }).code === 'ReceiverDisconnectedError'), lower.errors.map(String).join());
    assert.deepEqual(hub.openLinks().filter((l) => l.group === 'splunk' && l.partition === '0').map((l) => l.epoch), [2]);
    await Promise.all([first.subscription.close(), second.subscription.close(), lower.subscription.close()]);
  });

  for (const kind of ['server-busy', 'detach', 'drop'] as const) {
    test(`${kind} on an open link: the SDK re-attaches after the last delivered sequence number, nothing lost or repeated`, async () => {
      hub.addHub({ name: `faults-${kind}`, partitions: 1 });
      hub.send(`faults-${kind}`, '0', Array.from({ length: 40 }, (_, n) => records('0', n)));
      hub.faults.push({ kind, partition: '0', afterDeliveries: 10 });
      const { events, subscription } = await receive(client({ hubName: `faults-${kind}` }, { retryOptions: { maxRetries: 3, retryDelayInMs: 100, timeoutInMs: 10_000 } }), '0', 40, { startPosition: earliestEventPosition, maxBatchSize: 5 });
      await subscription.close();
      assert.deepEqual(events.map((e) => e.sequenceNumber), Array.from({ length: 40 }, (_, n) => n));
      const attaches = hub.attaches.filter((a) => a.hub === `faults-${kind}`);
      assert.ok(attaches.length >= 2, 'a second attach');
      assert.match(attaches[attaches.length - 1]!.filter, /x-opt-sequence-number > '\d+'/);
    });
  }

  // The input itself always uses AMQP over WebSockets (port 443, through [proxy]); the SDK's
  // default transport, amqps, is checked here so the stand-in's TLS listener is known to work too.
  test('amqps (AMQP over TLS on TCP, the SDK default): management READ, put-token and earliest, in a child process trusting the CA', async () => {
    hub.addHub({ name: 'amqps', partitions: 2 });
    hub.send('amqps', '1', [records('1', 0), records('1', 1), records('1', 2)]);
    const cbsBefore = hub.cbs.length;
    const probe = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'amqpsProbe.ts');
    const args = { connectionString: hub.connectionString(policy, 'amqps'), endpoint: `amqps://127.0.0.1:${hub.amqpsPort}`, hub: 'amqps', partition: '1', count: 3 };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', probe, JSON.stringify(args)], { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeout: 60_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
    );
    const result = JSON.parse(stdout) as { partitionIds: string[]; bodies: { records: { properties: { n: number } }[] }[]; errors: string[] };
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.partitionIds, ['0', '1']);
    assert.deepEqual(result.bodies.map((b) => b.records[0]!.properties.n), [0, 1, 2]);
    assert.ok(hub.cbs.slice(cbsBefore).some((r) => r.type === 'servicebus.windows.net:sastoken' && r.status === 202), 'a SAS token put on $cbs over amqps');
    const attach = hub.attaches.find((a) => a.hub === 'amqps')!;
    assert.doesNotMatch(attach.connectionId, /^ws-/, 'the partition was read over the TLS listener, not WebSockets');
  });

  test('slow deliveries: events arrive spaced out, in order', async () => {
    hub.addHub({ name: 'slow', partitions: 1 });
    hub.send('slow', '0', Array.from({ length: 5 }, (_, n) => records('0', n)));
    hub.faults.push({ kind: 'slow', partition: '0', delayMs: 100 });
    const started = Date.now();
    const { events, subscription } = await receive(client({ hubName: 'slow' }), '0', 5, { startPosition: earliestEventPosition });
    await subscription.close();
    hub.faults.length = 0;
    assert.deepEqual(events.map((e) => e.sequenceNumber), [0, 1, 2, 3, 4]);
    assert.ok(Date.now() - started >= 400);
  });
});
