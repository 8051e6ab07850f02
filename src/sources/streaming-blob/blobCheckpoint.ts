/**
 * What the blob input remembers: per blob, how many bytes of it were emitted (always the end of a
 * complete line), and a horizon: every blob last modified before it was read to the end. Blobs
 * that are finished and older than the horizon are forgotten, so the file stays small (one entry
 * per table and tenant per hour of the last few hours).
 */
export interface BlobProgress {
  /** Bytes emitted: the blob is read again from here. */
  offset: number;
  /** The blob's size when last listed. */
  size: number;
  /** The blob's last-modified time when last listed (ISO). */
  modified: string;
}

export interface BlobCheckpoint {
  version: 1;
  /** ISO: blobs last modified before it and not in `blobs` are done (or before start_date). */
  horizon: string;
  /** Keyed by `<container>/<blob name>`. */
  blobs: Record<string, BlobProgress>;
}

/**
 * A blob is kept this long after it stopped changing. The Streaming API appends to a blob during
 * its hour (and a few minutes after); a forgotten blob that changes again is read from its start
 * (duplicates, never loss).
 */
export const FORGET_AFTER_MS = 3 * 3600_000;

export function isBlobCheckpoint(value: unknown): value is BlobCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<BlobCheckpoint>;
  if (v.version !== 1 || typeof v.horizon !== 'string' || !Number.isFinite(Date.parse(v.horizon))) return false;
  if (typeof v.blobs !== 'object' || v.blobs === null || Array.isArray(v.blobs)) return false;
  return Object.values(v.blobs).every(
    (b) => typeof b === 'object' && b !== null && Number.isSafeInteger(b.offset) && b.offset >= 0 && Number.isSafeInteger(b.size) && typeof b.modified === 'string',
  );
}

export function initialCheckpoint(startMs: number): BlobCheckpoint {
  return { version: 1, horizon: new Date(startMs).toISOString(), blobs: {} };
}

/** Where to start reading a listed blob, or undefined to skip it. */
export function startOffset(checkpoint: BlobCheckpoint, key: string, modifiedMs: number, size: number): { offset: number; restarted: boolean } | undefined {
  const known = checkpoint.blobs[key];
  if (!known) return modifiedMs < Date.parse(checkpoint.horizon) ? undefined : { offset: 0, restarted: false };
  // Smaller than what was read: the blob was deleted and written anew. Read it again whole.
  if (size < known.offset) return { offset: 0, restarted: true };
  return { offset: known.offset, restarted: false };
}

/**
 * After a poll that listed and read everything: move the horizon to `pollStartMs - FORGET_AFTER_MS`
 * (never back) and forget the blobs before it that were read to their end. Blobs not read to the
 * end stay while they are still listed, so nothing is skipped; one no longer listed (deleted by a
 * retention policy) and older than the horizon is forgotten too, so the file cannot grow forever.
 */
export function forgetFinished(checkpoint: BlobCheckpoint, pollStartMs: number, listed: ReadonlySet<string>): number {
  const horizonMs = Math.max(Date.parse(checkpoint.horizon), pollStartMs - FORGET_AFTER_MS);
  checkpoint.horizon = new Date(horizonMs).toISOString();
  let forgotten = 0;
  for (const [key, blob] of Object.entries(checkpoint.blobs)) {
    if ((blob.offset >= blob.size || !listed.has(key)) && Date.parse(blob.modified) < horizonMs) {
      delete checkpoint.blobs[key];
      forgotten++;
    }
  }
  return forgotten;
}
