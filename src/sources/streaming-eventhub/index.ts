import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { EventHubConsumerClient, parseEventHubConnectionString, RetryMode, type CheckpointStore as EventHubsCheckpointStore, type EventHubConsumerClientOptions, type RetryOptions } from '@azure/event-hubs';
import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import { azureHttpClient } from '../../azure/httpClient.js';
import { tokenCredential } from '../../azure/tokenCredential.js';
import { dispatcherWebSocket } from '../../azure/webSocket.js';
import { ConfigError } from '../../config/account.js';
import { HttpClient } from '../../http/client.js';
import { NetworkError } from '../../http/errors.js';
import { DEFAULT_RETRY } from '../../http/retry.js';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { SplunkRest } from '../../splunk/rest.js';
import { acquireStanzaLock } from '../../splunk/stanzaLock.js';
import type { PollSummary, StreamingContext } from '../pollContext.js';
import { loadInputSecret } from '../streaming/secret.js';
import { CLOSE_WAIT_MS, consume, explainEventHubsError, isFatal, withinMs } from './consume.js';
import { eventHubParams, eventHubParamsProblem, type EventHubParams } from './definition.js';
import { FileCheckpointStore } from './fileCheckpointStore.js';

/** storage/passwords user of the SAS token for the checkpoint container (connection-string inputs). */
export const checkpointSecretUser = (stanza: string): string => `${stanza}#checkpoint`;
const IDLE_SECONDS = 5;
// Messages per batch (and, see consume.ts, prefetched per partition): what a partition holds in memory at once.
const MAX_BATCH = 50;

/** `--validate-arguments`: the combination, the connection string's shape, the stored secrets. */
export async function validateStreamingEventHub(params: Record<string, string>, rest: SplunkRest, stanza: string): Promise<string | undefined> {
  const problem = eventHubParamsProblem(params);
  if (problem) return problem;
  const p = eventHubParams(params);
  try {
    if (p.authType === 'connection_string') {
      connectionTarget(await loadInputSecret(rest, stanza, 'Event Hubs connection string'), p);
      if (p.checkpointStore === 'blob') await loadInputSecret(rest, checkpointSecretUser(stanza), 'SAS token for the checkpoint container');
    }
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

/** Namespace and hub of a connection string, checked against the parameters. */
function connectionTarget(connectionString: string, p: EventHubParams): { namespace: string; hub: string } {
  let parsed: ReturnType<typeof parseEventHubConnectionString>;
  try {
    parsed = parseEventHubConnectionString(connectionString);
  } catch (error) {
    throw new ConfigError(`The stored Event Hubs connection string is not usable: ${(error as Error).message.split(/\r?\n/)[0]} Copy it from the hub's or namespace's "Shared access policies" page.`);
  }
  const hub = parsed.eventHubName ?? p.eventHub;
  if (!hub) throw new ConfigError('Event hub (event_hub) is required: the stored connection string has no EntityPath.');
  if (parsed.eventHubName && p.eventHub && parsed.eventHubName !== p.eventHub) {
    throw new ConfigError(`Event hub (event_hub) "${p.eventHub}" differs from the connection string's EntityPath "${parsed.eventHubName}"; leave event_hub empty or make them agree.`);
  }
  const namespace = new URL(parsed.endpoint.replace(/^sb:/, 'https:')).host;
  if (p.namespace && p.namespace.toLowerCase() !== namespace.toLowerCase()) {
    throw new ConfigError(`Event Hubs namespace (namespace) "${p.namespace}" differs from the connection string's endpoint "${namespace}".`);
  }
  return { namespace, hub };
}

/** One run: consume for at most run_seconds (or until caught up), checkpointing per partition, then exit. */
export async function collectStreamingEventHub(ctx: StreamingContext): Promise<PollSummary> {
  const problem = eventHubParamsProblem(ctx.params);
  if (problem) throw new ConfigError(problem);
  const p = eventHubParams(ctx.params);
  if (p.authType === 'entra' && !ctx.session) throw new ConfigError('Account (account) is required with auth_type = entra.');
  const lockFile = new CheckpointStore(ctx.checkpointDir, ctx.stanza, ctx.logger).file;
  const lock = await acquireStanzaLock(lockFile);
  const http = new HttpClient({
    logger: ctx.logger,
    proxy: ctx.settings.proxy,
    caFile: p.caFile ?? ctx.session?.account.caFile,
    timeoutMs: ctx.settings.requestTimeoutSeconds * 1000,
    retry: { ...DEFAULT_RETRY, maxAttempts: 1 },
  });
  let client: EventHubConsumerClient | undefined;
  let onTerm: (() => void) | undefined;
  try {
    const store = await checkpointStore(ctx, p, http);
    // AMQP over WebSockets (443) through our dispatcher: the proxy and ca_file apply.
    const clientOptions = (retryOptions: RetryOptions): EventHubConsumerClientOptions => ({
      webSocketOptions: { webSocket: dispatcherWebSocket(http.dispatcher) },
      retryOptions,
      // Claim every free partition at once: a run is short.
      loadBalancingOptions: { strategy: 'greedy' as const, updateIntervalInMs: 10_000, partitionOwnershipExpirationIntervalInMs: 60_000 },
      userAgent: 'TA-defender-xdr',
    });
    // The SDK's default is a fixed 30 s between attempts, an eighth of a run; the service asks
    // for 4 s when it is busy. Exponential from 4 s, at most 30 s.
    const retryOptions: RetryOptions = { maxRetries: ctx.settings.maxRetries, timeoutInMs: ctx.settings.requestTimeoutSeconds * 1000, retryDelayInMs: 4_000, maxRetryDelayInMs: 30_000, mode: RetryMode.Exponential };
    let hub: string;
    let namespace = p.namespace ?? '';
    let makeClient: (retry: RetryOptions) => EventHubConsumerClient;
    if (p.authType === 'connection_string') {
      const secret = await loadInputSecret(ctx.rest, ctx.stanza, 'Event Hubs connection string');
      ({ hub, namespace } = connectionTarget(secret, p));
      makeClient = (retry) => p.eventHub && !parseEventHubConnectionString(secret).eventHubName
        ? new EventHubConsumerClient(p.consumerGroup, secret, p.eventHub, store, clientOptions(retry))
        : new EventHubConsumerClient(p.consumerGroup, secret, store, clientOptions(retry));
    } else {
      hub = p.eventHub ?? '';
      const credential = tokenCredential(ctx.session!.tokens);
      makeClient = (retry) => new EventHubConsumerClient(p.consumerGroup, p.namespace ?? '', hub, credential, store, clientOptions(retry));
    }
    await failFastOnSettings(makeClient({ ...retryOptions, maxRetries: 0 }), namespace, http);
    client = makeClient(retryOptions);
    // splunkd stops an input with SIGTERM: the checkpoints taken since the last write (up to a
    // second of output) are written before the process goes, so a stop repeats only the batches
    // being written, as kill -9 did before checkpoints were written once a second.
    const localStore = store instanceof FileCheckpointStore ? store : undefined;
    onTerm = () => {
      try {
        localStore?.saveSync();
      } finally {
        process.exit(143);
      }
    };
    process.once('SIGTERM', onTerm);
    const summary = await consume(client, {
      writer: ctx.writer,
      logger: ctx.logger.child({ event_hub: hub, consumer_group: p.consumerGroup }),
      index: ctx.params.index || undefined,
      runMs: p.runSeconds * 1000,
      idleSeconds: IDLE_SECONDS,
      maxBatchSize: MAX_BATCH,
      startPosition: p.startPosition,
      checkpointStore: store,
      consumerGroup: p.consumerGroup,
      ownsAllPartitions: p.checkpointStore === 'local',
      flushCheckpoints: localStore && (() => localStore.flush()),
    }).catch(async (error: unknown) => {
      throw await withConnectionCause(error, namespace, http);
    });
    return { ...summary, pages: summary.batches, skipped_duplicates: 0, repaged: 0, high_water_mark: new Date().toISOString(), checkpoint_store: p.checkpointStore };
  } finally {
    if (onTerm) process.off('SIGTERM', onTerm);
    if (client) await withinMs(client.close(), CLOSE_WAIT_MS, () => undefined);
    await http.close();
    await lock.release();
  }
}

/**
 * One attempt, without the SDK's retries, before the run. The SDK retries a rejected credential
 * (UnauthorizedError is retryable: keys may have been rotated), so with max_retries = 6 a wrong
 * key was reported after 7 attempts, minutes later, as an AggregateError without a code. A wrong
 * key, hub, namespace or role fails here in seconds with what to fix; anything else (the network,
 * a busy service) is left to the run's client, which retries.
 */
async function failFastOnSettings(probe: EventHubConsumerClient, namespace: string, http: HttpClient): Promise<void> {
  try {
    await probe.getPartitionIds();
  } catch (error) {
    if (isFatal(error)) throw explainEventHubsError(error);
    if (!(error as Error).message?.trim()) throw await withConnectionCause(error, namespace, http);
  } finally {
    await withinMs(probe.close(), CLOSE_WAIT_MS, () => undefined);
  }
}

/**
 * A failed WebSocket handshake reaches us as an error without a message (the WebSocket API hides
 * the cause). One https request to the namespace through the same client names it: refused,
 * DNS, certificate, proxy.
 */
async function withConnectionCause(error: unknown, namespace: string, http: HttpClient): Promise<Error> {
  const err = error as Error;
  if (err.message?.trim()) return err;
  try {
    await http.send(`https://${namespace}/`, { retry: { maxAttempts: 1 } });
  } catch (probe) {
    if (probe instanceof NetworkError) return new Error(`Cannot connect to Event Hubs at ${namespace} (AMQP over WebSockets, port 443): ${probe.message}`);
  }
  return new Error(`Event Hubs at ${namespace} did not accept the AMQP WebSocket connection (wss://${namespace}/$servicebus/websocket). Check the namespace and [proxy].`);
}

async function checkpointStore(ctx: StreamingContext, p: EventHubParams, http: HttpClient): Promise<EventHubsCheckpointStore> {
  if (p.checkpointStore === 'local') return FileCheckpointStore.forInput(ctx.checkpointDir, ctx.stanza, ctx.logger);
  const url = p.checkpointContainerUrl ?? '';
  const options = {
    httpClient: azureHttpClient(http),
    retryOptions: { maxTries: ctx.settings.maxRetries + 1, tryTimeoutInMs: ctx.settings.requestTimeoutSeconds * 1000 },
  };
  const container =
    p.authType === 'entra'
      ? new ContainerClient(url, tokenCredential(ctx.session!.tokens), options)
      : new ContainerClient(`${url}?${(await loadInputSecret(ctx.rest, checkpointSecretUser(ctx.stanza), 'SAS token for the checkpoint container')).replace(/^\?/, '')}`, new AnonymousCredential(), options);
  return new BlobCheckpointStore(container);
}
