/**
 * Memory for large response bodies, used again once a body's events are written. A list page is
 * ~5 MB: a fresh buffer for each costs page faults as it is first filled, counts as new external
 * memory (which makes V8 run full collections of the main thread every few pages), and leaves
 * glibc's heap holding what freed bodies leave (see launcher.sh).
 */

/** Bodies smaller than this are allocated as before (tokens, errors, small pages). */
export const POOLED_MIN_BYTES = 1024 * 1024;
/** Buffers are made in whole MiB, so pages of slightly different sizes fit the same ones. */
const GRAIN = 1024 * 1024;

export class BodyPool {
  private readonly free: ArrayBuffer[] = [];
  /** Buffers handed out by take(): each belongs to one body alone (see ownsWhole). */
  private readonly handedOut = new WeakSet<ArrayBuffer>();

  /** @param keep free buffers kept at most (about the pages in flight at once) */
  constructor(private readonly keep = 4) {}

  /** A buffer of at least `bytes`: the smallest free one that fits, else a new one. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].byteLength >= bytes && (best === -1 || this.free[i].byteLength < this.free[best].byteLength)) best = i;
    }
    const buffer = best === -1 ? new ArrayBuffer(Math.ceil(bytes / GRAIN) * GRAIN) : this.free.splice(best, 1)[0];
    this.handedOut.add(buffer);
    return buffer;
  }

  /**
   * A body no longer read. Its memory moves to a new ArrayBuffer (no copy) and the old one is
   * detached, so a view kept by mistake reads as empty instead of as another page's bytes.
   */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength < POOLED_MIN_BYTES) return;
    const moved = structuredClone(buffer, { transfer: [buffer] });
    this.free.push(moved);
    // Over the limit: the smallest goes (the largest fit any page).
    if (this.free.length > this.keep) this.free.sort((a, b) => b.byteLength - a.byteLength).pop();
  }

  /** True when `buffer` came from take(), so no other body shares it (it may be transferred). */
  ownsWhole(buffer: ArrayBufferLike): buffer is ArrayBuffer {
    return buffer instanceof ArrayBuffer && this.handedOut.has(buffer);
  }

  /** Free buffers, for tests. */
  get size(): number {
    return this.free.length;
  }
}

/** The process's pool: the HTTP client fills its buffers, the page parser gives them back. */
export const bodies = new BodyPool();
