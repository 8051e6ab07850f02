import type { Logger } from '../splunk/log.js';
import { rawJsonOf } from './rawJson.js';

/**
 * An API item as event text. JSON.parse accepts nesting that JSON.stringify cannot write back
 * (it recurses); such an item is emitted as its id and times plus a marker, with a WARN, instead
 * of failing every poll at the same item forever.
 */
export function itemJson(
  item: { id: string; [key: string]: unknown },
  logger: Logger,
  /** Kept in the fallback when they are strings: the times that place the item. */
  timeKeys: readonly string[] = ['lastUpdateDateTime', 'createdDateTime'],
): string | Buffer {
  const raw = rawJsonOf(item);
  // An element is never empty: empty bytes are a page released before its events were written.
  if (raw?.length === 0) throw new Error(`The raw JSON of item ${String(item.id)} was released before its event was written`);
  if (raw !== undefined) return raw;
  try {
    return JSON.stringify(item);
  } catch (error) {
    logger.warn('Item cannot be serialised whole; emitting its identity only', { id: String(item.id), error: (error as Error).message });
    const identity: Record<string, unknown> = { id: String(item.id) };
    for (const key of timeKeys) if (typeof item[key] === 'string') identity[key] = item[key];
    return JSON.stringify({ ...identity, taError: `not serialisable: ${(error as Error).message}` });
  }
}
