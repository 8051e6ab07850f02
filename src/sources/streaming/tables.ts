/** The Streaming API's tables and container names; free of Node APIs, so the configuration page can use them. */

export const STREAMING_SOURCETYPE = 'ms:defender:advancedhunting';
/** Containers (Storage Account) and hubs (Event Hubs) are named this plus the table in lower case. */
export const CONTAINER_PREFIX = 'insights-logs-advancedhunting-';

/** The advanced-hunting tables the Streaming API offers (GA), in their documented spelling. */
export const STREAMING_TABLES = [
  'AlertEvidence', 'AlertInfo', 'CloudAppEvents', 'DeviceEvents', 'DeviceFileCertificateInfo', 'DeviceFileEvents',
  'DeviceImageLoadEvents', 'DeviceInfo', 'DeviceLogonEvents', 'DeviceNetworkEvents', 'DeviceNetworkInfo',
  'DeviceProcessEvents', 'DeviceRegistryEvents', 'EmailAttachmentInfo', 'EmailEvents', 'EmailPostDeliveryEvents',
  'EmailUrlInfo', 'IdentityLogonEvents', 'IdentityQueryEvents', 'IdentityDirectoryEvents', 'UrlClickEvents',
] as const;

const BY_LOWER = new Map<string, string>(STREAMING_TABLES.map((t) => [t.toLowerCase(), t]));

/** `insights-logs-advancedhunting-deviceprocessevents` -> `DeviceProcessEvents` (unknown tables keep the container's spelling). */
export function tableOfContainer(container: string): string {
  const lower = container.toLowerCase().startsWith(CONTAINER_PREFIX) ? container.slice(CONTAINER_PREFIX.length) : container;
  return BY_LOWER.get(lower.toLowerCase()) ?? lower;
}

export function containerOfTable(table: string): string {
  return `${CONTAINER_PREFIX}${table.toLowerCase()}`;
}

/** A table name as an admin may type it (any case); undefined when it is not a streaming table. */
export function knownTable(name: string): string | undefined {
  return BY_LOWER.get(name.trim().toLowerCase());
}
