/**
 * TEST TOOL — an in-memory event hub behind the ConsumerLike interface the Event Hubs input uses,
 * behaving as @azure/event-hubs' EventHubConsumerClient does with a checkpoint store (documented
 * in its public types and mirrored from its EventProcessor/PartitionProcessor):
 * - each partition is claimed through CheckpointStore.claimOwnership (greedy strategy), then
 *   processInitialize runs;
 * - it starts after the checkpoint's offset (listCheckpoints; exclusive), else at startPosition
 *   (earliest "-1" / latest "@latest");
 * - processEvents gets batches of up to maxBatchSize ReceivedEventData, and an empty batch after
 *   maxWaitTimeInSeconds without events; per partition one call at a time;
 * - context.updateCheckpoint(event) stores {namespace, hub, group, partition, sequenceNumber, offset};
 * - close() stops the pumps (processClose) and relinquishes ownership.
 * It is not Event Hubs: no AMQP, no real load balancing between several consumers.
 */
import type { Checkpoint, CheckpointStore, PartitionContext, ReceivedEventData, SubscribeOptions, Subscription, SubscriptionEventHandlers } from '@azure/event-hubs';
import { CloseReason } from '@azure/event-hubs';
import type { ConsumerLike } from '../../src/sources/streaming-eventhub/consume.js';

export interface FakeFault {
  /** processError is called with this error once, on partition `partition` ('' for the processor). */
  error: Error & { code?: string; retryable?: boolean };
  partition?: string;
}

export class FakeEventHub {
  readonly partitions = new Map<string, ReceivedEventData[]>();
  readonly namespace = 'contoso-defender.servicebus.windows.net';
  /** How long an empty wait lasts, in real ms (the tests shrink maxWaitTimeInSeconds). */
  waitMs = 20;
  constructor(
    readonly eventHubName: string,
    partitionCount: number,
  ) {
    for (let i = 0; i < partitionCount; i++) this.partitions.set(String(i), []);
  }

  /** Appends messages (bodies as the SDK decodes them) to a partition; offsets grow like the service's. */
  send(partition: string, bodies: unknown[]): void {
    const list = this.partitions.get(partition)!;
    for (const body of bodies) {
      const sequenceNumber = list.length;
      list.push(receivedEvent(body, sequenceNumber));
    }
  }

  consumer(consumerGroup: string, store: CheckpointStore, faults: FakeFault[] = []): ConsumerLike & { closed: boolean } {
    const hub = this;
    let closed = false;
    return {
      eventHubName: hub.eventHubName,
      fullyQualifiedNamespace: hub.namespace,
      async getPartitionProperties(partitionId: string) {
        const list = hub.partitions.get(partitionId)!;
        const last = list[list.length - 1];
        return {
          eventHubName: hub.eventHubName, partitionId, beginningSequenceNumber: 0, isEmpty: !list.length,
          lastEnqueuedSequenceNumber: last ? last.sequenceNumber : -1, lastEnqueuedOffset: last ? last.offset : '-1', lastEnqueuedOnUtc: new Date(),
        };
      },
      get closed() {
        return closed;
      },
      async getPartitionIds() {
        const fault = faults.find((f) => f.partition === undefined);
        if (fault) throw fault.error;
        return [...hub.partitions.keys()];
      },
      subscribe(handlers: SubscriptionEventHandlers, options: SubscribeOptions = {}): Subscription {
        let running = true;
        const ownerId = `owner-${Math.random()}`;
        const pumps: Promise<void>[] = [];
        const pump = async (partitionId: string) => {
          const owned = await store.listOwnership(hub.namespace, hub.eventHubName, consumerGroup);
          const current = owned.find((o) => o.partitionId === partitionId);
          const claimed = await store.claimOwnership([{ fullyQualifiedNamespace: hub.namespace, eventHubName: hub.eventHubName, consumerGroup, partitionId, ownerId, etag: current?.etag }]);
          if (!claimed.length) return;
          const context: PartitionContext = {
            fullyQualifiedNamespace: hub.namespace,
            eventHubName: hub.eventHubName,
            consumerGroup,
            partitionId,
            updateCheckpoint: async (event: ReceivedEventData) => {
              const checkpoint: Checkpoint = { fullyQualifiedNamespace: hub.namespace, eventHubName: hub.eventHubName, consumerGroup, partitionId, sequenceNumber: event.sequenceNumber, offset: event.offset };
              await store.updateCheckpoint(checkpoint);
            },
          } as PartitionContext;
          await handlers.processInitialize?.(context);
          const checkpoint = (await store.listCheckpoints(hub.namespace, hub.eventHubName, consumerGroup)).find((c) => c.partitionId === partitionId);
          const list = hub.partitions.get(partitionId)!;
          const start = options.startPosition as { offset?: string } | undefined;
          let next = checkpoint ? list.findIndex((e) => e.offset === checkpoint.offset) + 1 : start?.offset === '@latest' ? list.length : 0;
          const fault = faults.find((f) => f.partition === partitionId);
          if (fault) await handlers.processError(fault.error, context);
          while (running) {
            const batch = list.slice(next, next + (options.maxBatchSize ?? 10));
            if (!batch.length) await new Promise((r) => setTimeout(r, hub.waitMs));
            // A batch comes from the network, a turn of the event loop later, as with the SDK: else
            // batches handled only in microtasks (nothing awaits I/O) would starve the run's timers.
            else await new Promise((r) => setImmediate(r));
            if (!running) break;
            next += batch.length;
            await handlers.processEvents(batch, context);
          }
          await handlers.processClose?.(CloseReason.Shutdown, context);
        };
        for (const id of hub.partitions.keys()) pumps.push(pump(id));
        return {
          isRunning: true,
          close: async () => {
            running = false;
            await Promise.all(pumps);
          },
        } as Subscription;
      },
      async close() {
        closed = true;
      },
    };
  }
}

/** A ReceivedEventData as the SDK hands it to processEvents (body already decoded). */
export function receivedEvent(body: unknown, sequenceNumber: number): ReceivedEventData {
  return {
    body,
    sequenceNumber,
    offset: String(sequenceNumber * 1000),
    enqueuedTimeUtc: new Date(),
    partitionKey: null,
    properties: {},
    systemProperties: {},
    getRawAmqpMessage: () => ({ body, bodyType: 'data' }),
  } as ReceivedEventData;
}
