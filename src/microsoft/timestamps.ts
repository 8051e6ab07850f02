/**
 * Graph timestamps are ISO 8601 UTC with 0 to 7 fractional digits. They are compared and
 * stored in one canonical 7-digit form, in which string order equals time order.
 */
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export function canonicalTimestamp(value: string): string {
  const match = ISO.exec(value.trim());
  if (!match) throw new Error(`Not an ISO 8601 timestamp: ${JSON.stringify(value)}`);
  const [, seconds, fraction = '', zone] = match;
  if (zone === 'Z') return `${seconds}.${fraction.padEnd(7, '0').slice(0, 7)}Z`;
  // Rare offsets are converted through Date (ms precision), then padded.
  const ms = Date.parse(`${seconds}${fraction ? '.' + fraction.slice(0, 3) : ''}${zone}`);
  return fromEpochMs(ms);
}

export function fromEpochMs(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

export function toEpochMs(canonical: string): number {
  return Date.parse(canonical.replace(/(\.\d{3})\d*Z$/, '$1Z'));
}

/** Accepts what an admin types as start_date: a date or a date-time, UTC assumed when no zone is given. */
export function parseStartDate(value: string): number | undefined {
  const trimmed = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(trimmed)) return undefined;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) || trimmed.length === 10 ? trimmed : `${trimmed}Z`;
  const ms = Date.parse(withZone.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : undefined;
}
