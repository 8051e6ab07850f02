import { randomUUID } from 'node:crypto';
import type { Checkpoint, CheckpointStore as EventHubsCheckpointStore, PartitionOwnership } from '@azure/event-hubs';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { Logger } from '../../splunk/log.js';

/** The file: the last event processed per partition, keyed `<namespace>/<hub>/<consumer group>/<partition>`. */
export interface EventHubCheckpointFile {
  version: 1;
  checkpoints: Record<string, { sequenceNumber: number; offset: string; updated: string }>;
}

export function isEventHubCheckpointFile(value: unknown): value is EventHubCheckpointFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<EventHubCheckpointFile>;
  if (v.version !== 1 || typeof v.checkpoints !== 'object' || v.checkpoints === null || Array.isArray(v.checkpoints)) return false;
  return Object.values(v.checkpoints).every((c) => typeof c === 'object' && c !== null && Number.isSafeInteger(c.sequenceNumber) && typeof c.offset === 'string');
}

function prefixOf(namespace: string, hub: string, group: string): string {
  // Namespaces and hubs are case-insensitive in Event Hubs; consumer groups too.
  return `${namespace}/${hub}/${group}/`.toLowerCase();
}

/** How often, at most, the checkpoint file is rewritten while a run reads. */
export const SAVE_EVERY_MS = 1000;

/**
 * The Event Hubs SDK's CheckpointStore over the add-on's atomic checkpoint file in splunkd's
 * checkpoint_dir, for forwarders without a storage account. Checkpoints survive kill -9 (temp file,
 * fsync, rename). Ownership lives in memory only: the stanza lock already guarantees that one
 * process consumes for this input, so partitions are never balanced with another consumer, and a
 * restarted run claims them at once instead of waiting for a dead owner's claim to expire.
 * The file holds one entry per partition, so its size is bounded by the hub's partition count.
 *
 * A checkpoint is taken in memory at once and written at most every `saveEveryMs` (the first one
 * at once), then by flush() at the end of the run, or by saveSync() on SIGTERM: a write (fsync,
 * rename, fsync of the folder) per batch cost more than the batch's records. The SDK only passes
 * checkpoints of batches already written to stdout, so the file never runs ahead of the output;
 * kill -9 repeats at most what was emitted since the last write (about a second) plus the batch in
 * flight on each partition.
 */
export class FileCheckpointStore implements EventHubsCheckpointStore {
  private readonly ownerships = new Map<string, PartitionOwnership>();
  private saving: Promise<void> = Promise.resolve();
  private savesRunning = 0;
  private dirty = false;
  private lastSaveAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private failure?: Error;

  private constructor(
    private readonly store: CheckpointStore<EventHubCheckpointFile>,
    private readonly state: EventHubCheckpointFile,
    private readonly saveEveryMs: number,
  ) {}

  static async open(store: CheckpointStore<EventHubCheckpointFile>, saveEveryMs = SAVE_EVERY_MS): Promise<FileCheckpointStore> {
    const loaded = await store.load(isEventHubCheckpointFile);
    return new FileCheckpointStore(store, loaded.state ?? { version: 1, checkpoints: {} }, saveEveryMs);
  }

  static forInput(checkpointDir: string, stanza: string, logger: Logger, saveEveryMs = SAVE_EVERY_MS): Promise<FileCheckpointStore> {
    return FileCheckpointStore.open(new CheckpointStore<EventHubCheckpointFile>(checkpointDir, stanza, logger), saveEveryMs);
  }

  get file(): string {
    return this.store.file;
  }

  async listOwnership(namespace: string, hub: string, group: string): Promise<PartitionOwnership[]> {
    const prefix = prefixOf(namespace, hub, group);
    return [...this.ownerships.entries()].filter(([key]) => key.startsWith(prefix)).map(([, o]) => ({ ...o }));
  }

  /** Claims succeed only against the etag the claimer saw, as in the Blob store (optimistic concurrency). */
  async claimOwnership(requests: PartitionOwnership[]): Promise<PartitionOwnership[]> {
    const claimed: PartitionOwnership[] = [];
    for (const request of requests) {
      const key = prefixOf(request.fullyQualifiedNamespace, request.eventHubName, request.consumerGroup) + request.partitionId;
      const current = this.ownerships.get(key);
      if (current && current.etag !== request.etag) continue;
      const owned: PartitionOwnership = { ...request, etag: randomUUID(), lastModifiedTimeInMs: Date.now() };
      this.ownerships.set(key, owned);
      claimed.push({ ...owned });
    }
    return claimed;
  }

  async listCheckpoints(namespace: string, hub: string, group: string): Promise<Checkpoint[]> {
    const prefix = prefixOf(namespace, hub, group);
    return Object.entries(this.state.checkpoints)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, c]) => ({
        fullyQualifiedNamespace: namespace,
        eventHubName: hub,
        consumerGroup: group,
        partitionId: key.slice(prefix.length),
        sequenceNumber: c.sequenceNumber,
        offset: c.offset,
      }));
  }

  /** Taken in memory; written now if the last write is `saveEveryMs` old, else when it will be. */
  async updateCheckpoint(checkpoint: Checkpoint): Promise<void> {
    if (this.failure) throw this.failure;
    const key = prefixOf(checkpoint.fullyQualifiedNamespace, checkpoint.eventHubName, checkpoint.consumerGroup) + checkpoint.partitionId;
    const known = this.state.checkpoints[key];
    // Never move a partition backwards (a late save of an older batch).
    if (known && known.sequenceNumber > checkpoint.sequenceNumber) return;
    this.state.checkpoints[key] = { sequenceNumber: checkpoint.sequenceNumber, offset: String(checkpoint.offset), updated: new Date().toISOString() };
    this.dirty = true;
    if (this.timer) return;
    const wait = this.lastSaveAt + this.saveEveryMs - Date.now();
    if (wait <= 0) return this.save();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save().catch((error: unknown) => (this.failure ??= error as Error));
    }, wait);
    // The run's end flushes; the timer alone must not keep the process alive.
    this.timer.unref();
  }

  /** Writes what is pending and waits for writes under way; throws if one failed. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.saving;
    if (this.dirty) await this.save();
    if (this.failure) throw this.failure;
  }

  /** On SIGTERM, before exiting: writes the checkpoints taken so far, synchronously. */
  saveSync(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty && !this.savesRunning) return;
    this.store.saveSync(this.state);
    this.dirty = false;
  }

  /** Saves are serialised: partitions checkpoint concurrently, and each save rewrites the whole file. */
  private save(): Promise<void> {
    const next = this.saving.then(() => {
      this.dirty = false;
      this.lastSaveAt = Date.now();
      return this.store.save(this.state);
    });
    this.savesRunning++;
    this.saving = next.catch(() => undefined).finally(() => this.savesRunning--);
    return next;
  }
}
