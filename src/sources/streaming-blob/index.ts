import { StorageError, type BlobEntry, type BlobRest } from '../../azure/blobRest.js';
import { ConfigError } from '../../config/account.js';
import { bodies } from '../../http/bodyPool.js';
import { HttpClient } from '../../http/client.js';
import { DEFAULT_RETRY } from '../../http/retry.js';
import { CheckpointStore } from '../../splunk/checkpoint.js';
import type { SplunkRest } from '../../splunk/rest.js';
import { acquireStanzaLock } from '../../splunk/stanzaLock.js';
import { parseStartDate } from '../../microsoft/timestamps.js';
import type { PollSummary, StreamingContext } from '../pollContext.js';
import { parseTables } from '../streaming/args.js';
import { CONTAINER_PREFIX, containerOfTable, lineEvent, tableOfContainer } from '../streaming/records.js';
import { loadInputSecret } from '../streaming/secret.js';
import { forgetFinished, FORGET_AFTER_MS, initialCheckpoint, isBlobCheckpoint, startOffset, type BlobCheckpoint } from './blobCheckpoint.js';
import { blobParamsProblem, type BlobAuthType } from './definition.js';
import { isWholeRecord, lineBatches, linesEnd } from './lines.js';
import { blobService } from './storage.js';

/** Bytes per ranged read; also the most a kill -9 can make the next run emit twice, per blob. */
export const CHUNK_BYTES = 1024 * 1024;
const DEFAULT_LOOKBACK_MS = 24 * 3600_000;
const DAY_MS = 86_400_000;

const SECRET_NAMES: Record<BlobAuthType, string> = {
  account_key: 'storage account key',
  sas_token: 'SAS token',
  connection_string: 'storage connection string',
};

/** `--validate-arguments`: the parameter combination, and that the secret is stored. */
export async function validateStreamingBlob(params: Record<string, string>, rest: SplunkRest, stanza: string): Promise<string | undefined> {
  const problem = blobParamsProblem(params);
  if (problem) return problem;
  try {
    await loadInputSecret(rest, stanza, SECRET_NAMES[authTypeOf(params)]);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

function authTypeOf(params: Record<string, string>): BlobAuthType {
  return (params.auth_type?.trim() || 'account_key') as BlobAuthType;
}

interface Totals {
  emitted: number;
  ranges: number;
  bytes: number;
  blobs_read: number;
  restarted: number;
}

/** One run: list the containers' blobs changed since the horizon, read each from its offset to its listed size. */
export async function collectStreamingBlob(ctx: StreamingContext): Promise<PollSummary> {
  const problem = blobParamsProblem(ctx.params);
  if (problem) throw new ConfigError(problem);
  const authType = authTypeOf(ctx.params);
  const secret = await loadInputSecret(ctx.rest, ctx.stanza, SECRET_NAMES[authType]);
  const store = new CheckpointStore<BlobCheckpoint>(ctx.checkpointDir, ctx.stanza, ctx.logger);
  const lock = await acquireStanzaLock(store.file);
  const http = new HttpClient({
    logger: ctx.logger,
    proxy: ctx.settings.proxy,
    caFile: ctx.params.ca_file?.trim() || undefined,
    timeoutMs: ctx.settings.requestTimeoutSeconds * 1000,
    retry: { ...DEFAULT_RETRY, maxAttempts: ctx.settings.maxRetries + 1 },
  });
  try {
    const service = blobService(
      { authType, storageAccount: ctx.params.storage_account?.trim() || undefined, blobEndpoint: ctx.params.blob_endpoint?.trim() || undefined },
      secret,
      http,
    );
    const loaded = await store.load(isBlobCheckpoint);
    const startMs = ctx.params.start_date ? parseStartDate(ctx.params.start_date) : ctx.nowMs - DEFAULT_LOOKBACK_MS;
    if (startMs === undefined) throw new ConfigError(`start_date "${ctx.params.start_date}" is not an ISO 8601 date.`);
    const checkpoint = loaded.state ?? initialCheckpoint(startMs);
    const totals: Totals = { emitted: 0, ranges: 0, bytes: 0, blobs_read: 0, restarted: 0 };
    const save = () => store.save(checkpoint);
    const listed = new Set<string>();
    for (const { container, table } of await containersToRead(ctx, service)) {
      for await (const item of candidateBlobs(ctx, service, container, Date.parse(checkpoint.horizon))) {
        listed.add(`${container}/${item.name}`);
        await readBlob(ctx, service, container, table, item, checkpoint, totals, save);
      }
    }
    const forgotten = forgetFinished(checkpoint, ctx.nowMs, listed);
    await save();
    return {
      emitted: totals.emitted,
      pages: totals.ranges,
      skipped_duplicates: 0,
      repaged: 0,
      high_water_mark: checkpoint.horizon,
      bytes: totals.bytes,
      blobs_read: totals.blobs_read,
      blobs_tracked: Object.keys(checkpoint.blobs).length,
      blobs_forgotten: forgotten,
      blobs_restarted: totals.restarted,
      storage_requests: http.stats.requests,
    };
  } finally {
    await http.close();
    await lock.release();
  }
}

async function containersToRead(ctx: StreamingContext, service: BlobRest): Promise<{ container: string; table: string }[]> {
  const tables = parseTables(ctx.params.tables);
  if (tables.length) return tables.map((table) => ({ container: containerOfTable(table), table }));
  const found: { container: string; table: string }[] = [];
  try {
    for await (const container of service.listContainers(CONTAINER_PREFIX)) found.push({ container, table: tableOfContainer(container) });
  } catch (error) {
    throw storageError(error, 'list the containers', 'If the SAS token or role only covers some containers, set tables.');
  }
  if (!found.length) ctx.logger.warn(`The storage account has no ${CONTAINER_PREFIX}* container yet. Check that the Streaming API in the Defender portal sends tables to this account.`);
  return found;
}

/**
 * The blobs that may hold unread records. The documented layout is
 * `tenantId=<id>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`: under each tenant only the day folders
 * from the horizon on are listed (from a day earlier, as a blob is written until after its hour);
 * anything not in that layout is listed whole.
 */
async function* candidateBlobs(ctx: StreamingContext, service: BlobRest, container: string, horizonMs: number): AsyncGenerator<BlobEntry> {
  // Only blobs: a listing without delimiter has no prefix entries.
  const flat = async function* (prefix: string) {
    for await (const item of service.listBlobs(container, { prefix })) if (item.kind === 'blob') yield item;
  };
  try {
    for await (const item of service.listBlobs(container, { delimiter: '/' })) {
      if (item.kind === 'blob') {
        yield item;
      } else if (/^tenantId=[^/]+\/$/.test(item.name)) {
        for (let day = Math.floor(horizonMs / DAY_MS) - 1; day <= Math.floor(ctx.nowMs / DAY_MS) + 1; day++) {
          const d = new Date(day * DAY_MS).toISOString();
          yield* flat(`${item.name}y=${d.slice(0, 4)}/m=${d.slice(5, 7)}/d=${d.slice(8, 10)}/`);
        }
      } else {
        yield* flat(item.name);
      }
    }
  } catch (error) {
    if (error instanceof StorageError && error.status === 404 && error.code === 'ContainerNotFound') {
      ctx.logger.warn('Container not found; the Streaming API creates it when the table first has events', { container });
      return;
    }
    throw storageError(error, `list the blobs of ${container}`);
  }
}

async function readBlob(
  ctx: StreamingContext,
  service: BlobRest,
  container: string,
  table: string,
  item: BlobEntry,
  checkpoint: BlobCheckpoint,
  totals: Totals,
  save: () => Promise<void>,
): Promise<void> {
  const key = `${container}/${item.name}`;
  const size = item.size;
  const modified = new Date(item.lastModifiedMs);
  const start = startOffset(checkpoint, key, modified.getTime(), size);
  if (!start) return;
  if (start.restarted) {
    totals.restarted++;
    ctx.logger.warn('Blob is shorter than what was already read: it was replaced; reading it again from the start (events may repeat)', { blob: key, size, offset: checkpoint.blobs[key]?.offset });
  }
  const progress = { offset: start.offset, size, modified: modified.toISOString() };
  checkpoint.blobs[key] = progress;
  if (start.offset >= size) return;
  totals.blobs_read++;
  const index = ctx.params.index || undefined;
  // Each range starts at a line start (the checkpoint's offset): a line cut by a range's end is
  // read again whole with the next range, rather than its part kept and joined to the next range
  // (which copied every range once more, ~3% of the input's CPU).
  let window = CHUNK_BYTES;
  let ahead: Ahead | undefined;
  for (let position = start.offset; position < size; position = progress.offset) {
    const count = Math.min(window, size - position);
    const chunk = ahead?.position === position && ahead.count === count ? await ahead.chunk : await download(service, container, item.name, position, count);
    ahead = undefined;
    // Read before the buffer is given back (it then reads as empty).
    const length = chunk.length;
    totals.ranges++;
    totals.bytes += length;
    const atEnd = position + length >= size;
    const consumed = linesEnd(chunk);
    // Bytes after the blob's last line end: a last record without its newline, or one being written.
    const tail = atEnd && consumed < length ? chunk.toString('utf8', consumed) : undefined;
    // The next range is asked for while this one's events are written: the run waits on the
    // storage account or on splunkd, not on both in turn. The checkpoint still moves only after a
    // range's events are written.
    if (consumed && !atEnd) ahead = readAhead(service, container, item.name, position + consumed, Math.min(CHUNK_BYTES, size - position - consumed));
    // The checkpoint moves once the whole range's events are written (duplicates after a kill: one range).
    for (const lines of lineBatches(chunk, consumed)) {
      totals.emitted += await ctx.writer.writeEvents(lines.map((line) => lineEvent(line, table, ctx.nowMs, ctx.logger, index)));
    }
    giveBack(chunk);
    if (consumed) {
      progress.offset += consumed;
      await save();
      window = CHUNK_BYTES;
    } else if (length === count) {
      // One line longer than the range: read again from its start, twice as far.
      window *= 2;
    }
    if (tail !== undefined) await emitTail(ctx, key, table, tail, length - consumed, modified, progress, totals, save);
    // At the end; or a short answer without a whole line (read again by the next run).
    if (atEnd || (!consumed && length < count)) break;
  }
}

/** A final record without its newline is emitted; so are, in a blob untouched for hours, bytes that will never get one. */
async function emitTail(
  ctx: StreamingContext,
  key: string,
  table: string,
  rest: string,
  bytes: number,
  modified: Date,
  progress: { offset: number },
  totals: Totals,
  save: () => Promise<void>,
): Promise<void> {
  const whole = isWholeRecord(rest);
  const settled = modified.getTime() < ctx.nowMs - FORGET_AFTER_MS;
  if (!whole && !settled) return;
  if (!whole) ctx.logger.warn('Blob ends with an unterminated line and has not changed for hours; indexing it as is', { blob: key, bytes });
  totals.emitted += await ctx.writer.writeEvents([lineEvent(rest.trim(), table, ctx.nowMs, ctx.logger, ctx.params.index || undefined)]);
  progress.offset += bytes;
  await save();
}

/** A range asked for ahead of its turn; its failure is raised when the range is awaited. */
interface Ahead {
  position: number;
  count: number;
  chunk: Promise<Buffer>;
}

function readAhead(service: BlobRest, container: string, blob: string, position: number, count: number): Ahead {
  const chunk = download(service, container, blob, position, count);
  // Awaited on the next turn of the loop, or dropped when the loop ends first (an error).
  chunk.catch(() => {});
  return { position, count, chunk };
}

async function download(service: BlobRest, container: string, blob: string, offset: number, count: number): Promise<Buffer> {
  try {
    return await service.getRange(container, blob, offset, count);
  } catch (error) {
    throw storageError(error, `read ${container}/${blob} at byte ${offset}`);
  }
}

/** A range's pooled buffer (src/http/bodyPool.ts), once nothing reads it: the next range reuses its memory. */
function giveBack(chunk: Buffer): void {
  if (chunk.byteOffset === 0 && bodies.ownsWhole(chunk.buffer)) bodies.give(chunk.buffer);
}

/** What to check for each refusal the service explains with its error code. */
const FORBIDDEN_HINTS: Record<string, string> = {
  AuthenticationFailed: 'Check the key, SAS token (copied whole, not expired) or connection string, and this host\'s clock (requests are refused 15 minutes off).',
  AuthorizationPermissionMismatch: 'Check the key, SAS token (permissions List+Read) or the role of the credential.',
  AuthorizationResourceTypeMismatch: 'Check the key, SAS token (resource types: Container and Object; Service too to list containers).',
  AuthorizationServiceMismatch: 'Check the key, SAS token (services: Blob).',
  AuthorizationSourceIPMismatch: 'Check the key, SAS token (allowed IPs: this forwarder\'s address as Azure sees it).',
  AuthorizationFailure: 'Check the key, SAS token (signature, expiry, allowed IPs) or the account\'s firewall (Networking: this forwarder\'s address must be allowed).',
};

/** Storage failures with what to fix. Messages carry no query string (SAS) and no key: the HttpClient keeps only origin and path. */
export function storageError(error: unknown, action: string, hint = ''): Error {
  const err = error as Partial<StorageError>;
  const code = err.code ?? '';
  const why =
    err.status === 403
      ? `access denied (403 ${code}). ${FORBIDDEN_HINTS[code] ?? 'Check the key, SAS token (expiry, permissions List+Read, allowed IPs) or the account\'s firewall.'}`
      : err.status === 404
        ? `not found (404 ${code}). Check storage_account / blob_endpoint${code === 'ContainerNotFound' ? ' and tables' : ''}.`
        : (err.message ?? String(error)).split(/\r?\n/)[0];
  return new Error(`Cannot ${action}: ${why}${hint ? ` ${hint}` : ''}`);
}
