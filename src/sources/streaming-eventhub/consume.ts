import { earliestEventPosition, type CheckpointStore, type MessagingError, type PartitionContext, type PartitionProperties, type ReceivedEventData, type SubscribeOptions, type Subscription, type SubscriptionEventHandlers } from '@azure/event-hubs';
import type { EventWriter, SplunkEvent } from '../../splunk/eventWriter.js';
import type { Logger } from '../../splunk/log.js';
import { messageEvents, tableOfContainer } from '../streaming/records.js';

/** The part of EventHubConsumerClient a run uses (EventHubConsumerClient satisfies it). */
export interface ConsumerLike {
  readonly eventHubName: string;
  readonly fullyQualifiedNamespace: string;
  getPartitionIds(): Promise<string[]>;
  getPartitionProperties(partitionId: string): Promise<PartitionProperties>;
  subscribe(handlers: SubscriptionEventHandlers, options?: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  writer: EventWriter;
  logger: Logger;
  index?: string;
  /** The run ends after this long at the latest. */
  runMs: number;
  /** A partition with no event for this long is caught up. */
  idleSeconds: number;
  maxBatchSize: number;
  /**
   * Where a partition without a checkpoint starts. `latest` is pinned on the first run by writing
   * a checkpoint at the partition's last enqueued event, so events that arrive between runs are
   * not skipped by the next run's "latest".
   */
  startPosition: 'earliest' | 'latest';
  checkpointStore: CheckpointStore;
  consumerGroup: string;
  /**
   * True when this consumer owns every partition (local checkpoints): caught up means all of them
   * idle. With a shared (blob) store other forwarders own some, and the run is caught up once its
   * own are idle and `sharedSettleMs` has passed, so partitions claimed late are not missed.
   */
  ownsAllPartitions: boolean;
  sharedSettleMs?: number;
  /**
   * Writes checkpoints the store holds back (the local file is written at most once a second):
   * called after `latest` is pinned and when the run ends.
   */
  flushCheckpoints?: () => Promise<void>;
  now?: () => number;
}

export interface ConsumeSummary {
  emitted: number;
  messages: number;
  batches: number;
  partitions: number;
  ended_by: 'caught_up' | 'run_time' | 'error';
}

/**
 * Errors after which retrying within the run cannot help (credentials, names, permissions); the
 * SDK retries the others (network, throttling, service busy) itself and reports them as warnings.
 */
const FATAL_CODES = new Set(['UnauthorizedError', 'MessagingEntityNotFoundError', 'ArgumentError', 'ArgumentOutOfRangeError', 'ConnectionForcedError', 'InvalidOperationError']);

/**
 * The error that says what went wrong. Two or more failed attempts reach us as an AggregateError
 * with no `code` and an empty message (core-amqp's retry): a rejected key arrives so, as four
 * UnauthorizedErrors marked retryable. Its last error is the service's answer.
 */
export function underlyingError(error: unknown): unknown {
  if (error instanceof AggregateError && error.errors.length) return underlyingError(error.errors[error.errors.length - 1]);
  return error;
}

export function isFatal(error: unknown): boolean {
  const err = underlyingError(error) as Partial<MessagingError> & { name?: string };
  if (err.code && FATAL_CODES.has(err.code)) return true;
  return err.name === 'AbortError' ? false : err.retryable === false && !!err.code && err.code !== 'ReceiverDisconnectedError';
}

/** Splunk events for one batch of Event Hubs messages: each message's `records` become events. */
export function batchEvents(events: ReceivedEventData[], hub: string, nowMs: number, logger: Logger, index?: string): SplunkEvent[] {
  const fallbackTable = tableOfContainer(hub);
  return events.flatMap((event) => messageEvents(event.body, fallbackTable, nowMs, logger, index));
}

/**
 * One bounded run: subscribe to every partition this consumer can own, emit each batch, then
 * checkpoint its last message (through the SDK's context, to the checkpoint store). The run ends
 * when every owned partition has been idle for `idleSeconds` (caught up), after `runMs`, or on an
 * error that retrying cannot fix. A batch is emitted before its checkpoint: a kill in between
 * repeats at most that batch; a batch received while the run is ending is neither emitted nor
 * checkpointed, so the next run reads it again.
 */
export async function consume(consumer: ConsumerLike, options: ConsumeOptions): Promise<ConsumeSummary> {
  const { writer, logger } = options;
  const now = options.now ?? Date.now;
  const started = now();
  let partitionIds: string[];
  try {
    // Fails fast, with the service's reason, on a wrong name, key or role.
    partitionIds = await consumer.getPartitionIds();
    if (options.startPosition === 'latest') {
      await pinLatest(consumer, options, partitionIds);
      await options.flushCheckpoints?.();
    }
  } catch (error) {
    throw explainEventHubsError(error);
  }
  const summary: ConsumeSummary = { emitted: 0, messages: 0, batches: 0, partitions: partitionIds.length, ended_by: 'run_time' };
  const owned = new Set<string>();
  const idle = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let fatal: Error | undefined;
  let ending = false;
  let end: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const finish = (reason: ConsumeSummary['ended_by']) => {
    if (ending) return;
    ending = true;
    summary.ended_by = reason;
    end();
  };

  const handleBatch = async (events: ReceivedEventData[], context: PartitionContext): Promise<void> => {
    if (ending) return;
    owned.add(context.partitionId);
    if (!events.length) {
      idle.add(context.partitionId);
      const settled = options.ownsAllPartitions ? partitionIds.every((id) => owned.has(id)) : now() - started >= (options.sharedSettleMs ?? 20_000);
      if (settled && [...owned].every((id) => idle.has(id))) finish('caught_up');
      return;
    }
    idle.delete(context.partitionId);
    const out = batchEvents(events, context.eventHubName, now(), logger, options.index);
    await writer.writeEvents(out);
    await context.updateCheckpoint(events[events.length - 1]);
    summary.emitted += out.length;
    summary.messages += events.length;
    summary.batches++;
  };

  const subscription = consumer.subscribe(
    {
      processInitialize: async (context) => {
        owned.add(context.partitionId);
        logger.debug('Partition claimed', { partition: context.partitionId });
      },
      processClose: async (reason, context) => {
        owned.delete(context.partitionId);
        idle.delete(context.partitionId);
        logger.debug('Partition released', { partition: context.partitionId, reason: String(reason) });
      },
      processEvents: (events, context) => {
        const task = handleBatch(events, context).catch((error: unknown) => {
          // Our own failures (splunkd's pipe, the checkpoint file) end the run: nothing after them is safe.
          fatal ??= error as Error;
          finish('error');
        });
        inFlight.add(task);
        return task.finally(() => inFlight.delete(task));
      },
      processError: async (error, context) => {
        if (isFatal(error)) {
          fatal ??= error;
          finish('error');
          return;
        }
        logger.warn('Event Hubs reported an error; the client retries', { partition: context.partitionId || undefined, error: error.name, code: (error as Partial<MessagingError>).code, message: error.message.split(/\r?\n/)[0] });
      },
    },
    // The SDK's prefetch defaults to 3 x maxBatchSize messages per partition, held in memory while
    // a batch is written: with a backlog, peak RSS grew with the volume (tools/benchStreaming.ts).
    // Bodies stay the data section's bytes (a Buffer) until the batch is handled: messageEvents
    // parses each once, and prefetched messages are held as bytes, not as parsed objects.
    { startPosition: earliestEventPosition, maxBatchSize: options.maxBatchSize, maxWaitTimeInSeconds: options.idleSeconds, prefetchCount: options.maxBatchSize, skipParsingBodyAsJson: true },
  );
  const timer = setTimeout(() => finish('run_time'), options.runMs);
  try {
    await ended;
  } finally {
    clearTimeout(timer);
    // Let batches being written finish (and checkpoint) before the subscription stops.
    await Promise.allSettled([...inFlight]);
    await options.flushCheckpoints?.().catch((error: unknown) => (fatal ??= error as Error));
    // Closing detaches the receivers and gives up ownership; on a broken connection the SDK can
    // wait long for that. Every emitted batch is already checkpointed, so the run need not wait.
    await withinMs(subscription.close(), CLOSE_WAIT_MS, () => logger.warn('Event Hubs did not confirm closing the partitions; ending the run anyway (checkpoints are saved).', { waited_ms: CLOSE_WAIT_MS }));
  }
  if (fatal) throw explainEventHubsError(fatal);
  return summary;
}

/** How long a run waits for the SDK to close its receivers. */
export const CLOSE_WAIT_MS = 5_000;

/** Waits for `work` at most `ms`; `onLate` runs if it had to stop waiting. */
export async function withinMs(work: Promise<unknown>, ms: number, onLate: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([work.then(() => 'done' as const, () => 'done' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') onLate();
}

async function pinLatest(consumer: ConsumerLike, options: ConsumeOptions, partitionIds: string[]): Promise<void> {
  const { checkpointStore: store, consumerGroup, logger } = options;
  const namespace = consumer.fullyQualifiedNamespace;
  const known = new Set((await store.listCheckpoints(namespace, consumer.eventHubName, consumerGroup)).map((c) => c.partitionId));
  for (const partitionId of partitionIds.filter((id) => !known.has(id))) {
    const properties = await consumer.getPartitionProperties(partitionId);
    // An empty partition is pinned at its start (offset -1), so what arrives later is read.
    await store.updateCheckpoint({
      fullyQualifiedNamespace: namespace,
      eventHubName: consumer.eventHubName,
      consumerGroup,
      partitionId,
      sequenceNumber: properties.isEmpty ? -1 : properties.lastEnqueuedSequenceNumber,
      offset: properties.isEmpty ? '-1' : properties.lastEnqueuedOffset,
    });
    logger.info('start_position = latest: partition starts after its last enqueued event', { partition: partitionId, sequence_number: properties.lastEnqueuedSequenceNumber });
  }
}

/** The service's errors with what to fix. */
export function explainEventHubsError(error: unknown): Error {
  error = underlyingError(error);
  const err = error as Partial<MessagingError> & { message?: string };
  const message = (err.message ?? String(error)).split(/\r?\n/)[0];
  switch (err.code) {
    case 'UnauthorizedError':
      return new Error(`Event Hubs refused the credentials (UnauthorizedError: ${message}). Check the connection string's key (Listen claim), or that the account's app has the Azure Event Hubs Data Receiver role on the hub.`);
    case 'MessagingEntityNotFoundError':
      return new Error(`Event Hubs does not know this hub or consumer group (MessagingEntityNotFoundError: ${message}). Check event_hub and consumer_group.`);
    default:
      return error instanceof Error ? error : new Error(message);
  }
}
