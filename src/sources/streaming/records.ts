import type { SplunkEvent } from '../../splunk/eventWriter.js';
import type { Logger } from '../../splunk/log.js';
import { eventTimeMs } from '../windowedPoll.js';

export { CONTAINER_PREFIX, STREAMING_SOURCETYPE, STREAMING_TABLES, containerOfTable, knownTable, tableOfContainer } from './tables.js';
import { STREAMING_SOURCETYPE } from './tables.js';

/** One Streaming API record: `{time, tenantId, operationName, category: "AdvancedHunting-<Table>", properties: {...}}`. */
export interface StreamingRecord {
  time?: unknown;
  tenantId?: unknown;
  category?: unknown;
  properties?: unknown;
  [key: string]: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The event for one record: the table's columns (`properties`) at the top level, as in advanced
 * hunting, followed by the envelope's own keys (time, tenantId, operationName, category, ...) so
 * nothing is lost. Envelope keys are camelCase and columns PascalCase; a clash would keep the
 * column and rename the envelope key `record_<key>`. `_time` is the column Timestamp (when it
 * happened), else the envelope's time (when it was published). `source` is the table.
 */
export function recordEvent(record: unknown, fallbackTable: string, nowMs: number, index?: string): SplunkEvent {
  if (!isObject(record)) {
    return { timeMs: nowMs, data: JSON.stringify(record), sourcetype: STREAMING_SOURCETYPE, source: fallbackTable, index };
  }
  const category = typeof record.category === 'string' ? record.category : '';
  const table = /^AdvancedHunting-(.+)$/i.exec(category)?.[1] ?? fallbackTable;
  const properties = isObject(record.properties) ? record.properties : undefined;
  let flat: Record<string, unknown> = record;
  if (properties) {
    flat = { ...properties };
    for (const [key, value] of Object.entries(record)) {
      if (key === 'properties') continue;
      flat[key in properties ? `record_${key}` : key] = value;
    }
  }
  const when = typeof properties?.Timestamp === 'string' ? properties.Timestamp : typeof record.time === 'string' ? record.time : undefined;
  return {
    timeMs: when ? eventTimeMs(when, nowMs) : nowMs,
    data: JSON.stringify(flat),
    sourcetype: STREAMING_SOURCETYPE,
    source: table,
    index,
  };
}

/**
 * Events for one line of a JSON-lines blob. A line that is not JSON is still indexed, as its raw
 * text, with a WARN: an unparsable line must not stop the blob or be silently dropped.
 */
export function lineEvent(line: string, fallbackTable: string, nowMs: number, logger: Logger, index?: string): SplunkEvent {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    // The parser's message quotes the text; only its kind is logged.
    logger.warn('A streamed line is not JSON; indexing it as raw text', { table: fallbackTable, bytes: line.length, error: (error as Error).name });
    return { timeMs: nowMs, data: line, sourcetype: STREAMING_SOURCETYPE, source: fallbackTable, index };
  }
  return recordEvent(record, fallbackTable, nowMs, index);
}

/**
 * Events of one Event Hubs message body: `{"records": [...]}` (the Streaming API's shape), a
 * single record, or an array of records.
 */
export function messageEvents(body: unknown, fallbackTable: string, nowMs: number, logger: Logger, index?: string): SplunkEvent[] {
  let value = body;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch (error) {
      logger.warn('An Event Hubs message is not JSON; indexing it as raw text', { table: fallbackTable, bytes: text.length, error: (error as Error).name });
      return [{ timeMs: nowMs, data: text, sourcetype: STREAMING_SOURCETYPE, source: fallbackTable, index }];
    }
  }
  const records = isObject(value) && Array.isArray(value.records) ? value.records : Array.isArray(value) ? value : [value];
  return records.map((record) => recordEvent(record, fallbackTable, nowMs, index));
}
