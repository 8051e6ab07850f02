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

/**
 * The Event Hubs SDK's CheckpointStore over the add-on's atomic checkpoint file in splunkd's
 * checkpoint_dir, for forwarders without a storage account. Checkpoints survive kill -9 (temp file,
 * fsync, rename). Ownership lives in memory only: the stanza lock already guarantees that one
 * process consumes for this input, so partitions are never balanced with another consumer, and a
 * restarted run claims them at once instead of waiting for a dead owner's claim to expire.
 * The file holds one entry per partition, so its size is bounded by the hub's partition count.
 */
export class FileCheckpointStore implements EventHubsCheckpointStore {
  private readonly ownerships = new Map<string, PartitionOwnership>();
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: CheckpointStore<EventHubCheckpointFile>,
    private readonly state: EventHubCheckpointFile,
  ) {}

  static async open(store: CheckpointStore<EventHubCheckpointFile>): Promise<FileCheckpointStore> {
    const loaded = await store.load(isEventHubCheckpointFile);
    return new FileCheckpointStore(store, loaded.state ?? { version: 1, checkpoints: {} });
  }

  static forInput(checkpointDir: string, stanza: string, logger: Logger): Promise<FileCheckpointStore> {
    return FileCheckpointStore.open(new CheckpointStore<EventHubCheckpointFile>(checkpointDir, stanza, logger));
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

  /** Saves are serialised: partitions checkpoint concurrently, and each save rewrites the whole file. */
  async updateCheckpoint(checkpoint: Checkpoint): Promise<void> {
    const key = prefixOf(checkpoint.fullyQualifiedNamespace, checkpoint.eventHubName, checkpoint.consumerGroup) + checkpoint.partitionId;
    const known = this.state.checkpoints[key];
    // Never move a partition backwards (a late save of an older batch).
    if (known && known.sequenceNumber > checkpoint.sequenceNumber) return;
    this.state.checkpoints[key] = { sequenceNumber: checkpoint.sequenceNumber, offset: String(checkpoint.offset), updated: new Date().toISOString() };
    const next = this.saving.then(() => this.store.save(this.state));
    this.saving = next.catch(() => undefined);
    await next;
  }
}
