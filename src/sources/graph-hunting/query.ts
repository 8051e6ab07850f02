import { createHash } from 'node:crypto';
import { fromEpochMs } from '../../microsoft/timestamps.js';

/** The column the input adds at table level: each row's ingestion time, which places it in exactly one window. */
export const INGESTION_COLUMN = 'IngestionTime';

/** First words that start a query without a table (the window could not be applied at table level). */
const NOT_A_TABLE = new Set(['let', 'union', 'search', 'find', 'print', 'datatable', 'range', 'externaldata', 'evaluate', 'set', 'declare', 'materialize']);

/**
 * The table a query starts from (`DeviceProcessEvents | where …` -> DeviceProcessEvents), or
 * undefined when it starts otherwise (let, union, search, …). It names the events' source, which
 * decides the CIM mapping.
 */
export function leadingTable(query: string): string | undefined {
  const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\||$)/.exec(query);
  if (!match || NOT_A_TABLE.has(match[1]!.toLowerCase())) return undefined;
  return match[1];
}

/** A query's identity in the checkpoint: a changed query starts collection again from start_date. */
export function queryHash(query: string): string {
  return createHash('sha256').update(query.trim().replace(/\r\n/g, '\n')).digest('hex').slice(0, 16);
}

export interface IngestionWindow {
  /** Exclusive lower bound of ingestion_time(), epoch ms. */
  afterMs: number;
  /** Inclusive upper bound of ingestion_time(), epoch ms. */
  toMs: number;
  /** Rows whose Timestamp is older than this are not read (bounds Microsoft's CPU): afterMs minus the lateness. */
  timestampFloorMs: number;
}

const kql = (ms: number) => `datetime(${fromEpochMs(ms)})`;

/**
 * The user's query with the window applied right after its table, where ingestion_time() still
 * exists (summarize and joins drop it): `T | where Timestamp >= floor and ingestion_time() in
 * (after, to] | extend IngestionTime = ingestion_time() | <the rest as typed>`.
 */
export function windowedQuery(query: string, table: string, window: IngestionWindow): string {
  const rest = query.trim().slice(query.trim().indexOf(table) + table.length);
  return (
    `${table}\n| where Timestamp >= ${kql(window.timestampFloorMs)} and ingestion_time() > ${kql(window.afterMs)} and ingestion_time() <= ${kql(window.toMs)}\n` +
    `| extend ${INGESTION_COLUMN} = ingestion_time()${rest.trim() ? `\n${rest.trim()}` : ''}`
  );
}

/** Rows stamped up to this long after their ingestion (a device clock running ahead) are still read. */
export const CLOCK_AHEAD_ALLOWANCE_MS = 3_600_000;

/**
 * Graph's Timespan for a window: from the Timestamp floor to the window's end plus the clock
 * allowance (no later than the poll's start). Both bound the Timestamps Microsoft scans, which is
 * what a split saves when a window times out.
 */
export function windowTimespan(window: IngestionWindow, nowMs: number): string {
  const end = Math.max(window.toMs, Math.min(nowMs, window.toMs + CLOCK_AHEAD_ALLOWANCE_MS));
  return `${fromEpochMs(window.timestampFloorMs)}/${fromEpochMs(end)}`;
}
