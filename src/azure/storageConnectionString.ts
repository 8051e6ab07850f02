/**
 * An Azure Storage connection string, as the portal's "Access keys" and "Shared access signature"
 * pages give it: `DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=…` or
 * `BlobEndpoint=https://…;SharedAccessSignature=sv=…&sig=…` (and mixtures). Messages never quote
 * the string: it holds the key.
 */
export interface StorageConnection {
  /** The Blob service's URL, without a trailing slash. */
  blobEndpoint: string;
  /** The account name (given, or read from the endpoint); needed to sign with a key. */
  accountName?: string;
  /** Base64 account key: requests are signed with Shared Key. */
  accountKey?: string;
  /** SAS token without its leading '?': appended to every request's query. */
  sas?: string;
}

export class ConnectionStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionStringError';
  }
}

/** Key=value pairs separated by ';'; keys case-insensitive, a value may itself contain '=' (a SAS, a base64 key). */
function settingsOf(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) {
      if (part.trim()) throw new ConnectionStringError('The connection string has a part that is not Name=value; copy it whole from the storage account\'s "Access keys" or "Shared access signature" page.');
      continue;
    }
    settings.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return settings;
}

/**
 * The account name of a Blob endpoint: the first label of `<account>.blob.<suffix>`, or the first
 * path segment of a path-style endpoint (an IP address or localhost, as the emulator uses).
 */
export function accountOfEndpoint(endpoint: string): string | undefined {
  const url = new URL(endpoint);
  const pathStyle = /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]|localhost)$/i.test(url.hostname);
  const name = pathStyle ? url.pathname.split('/')[1] : url.hostname.split('.')[0];
  return name || undefined;
}

export function parseStorageConnectionString(text: string): StorageConnection {
  const settings = settingsOf(text.trim());
  if (settings.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    throw new ConnectionStringError('UseDevelopmentStorage=true names the local emulator over http; the add-on only uses https: give BlobEndpoint=https://… and a key or SAS instead.');
  }
  let accountName = settings.get('accountname') || undefined;
  let blobEndpoint = settings.get('blobendpoint') || undefined;
  if (!blobEndpoint) {
    if (!accountName) throw new ConnectionStringError('The connection string has neither BlobEndpoint= nor AccountName=; copy it whole from the storage account\'s "Access keys" or "Shared access signature" page.');
    const protocol = (settings.get('defaultendpointsprotocol') || 'https').toLowerCase();
    const suffix = settings.get('endpointsuffix') || 'core.windows.net';
    blobEndpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  let url: URL;
  try {
    url = new URL(blobEndpoint);
  } catch {
    throw new ConnectionStringError('The connection string\'s blob endpoint is not a URL.');
  }
  if (url.protocol !== 'https:') throw new ConnectionStringError(`The connection string's blob endpoint is ${url.protocol}// (${url.host}); the add-on only uses https.`);
  blobEndpoint = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  const accountKey = settings.get('accountkey') || undefined;
  const sas = settings.get('sharedaccesssignature')?.replace(/^\?/, '') || undefined;
  // As the Azure SDK does: a key, when there is one, signs; else the SAS authorizes.
  if (accountKey) {
    accountName ??= accountOfEndpoint(blobEndpoint);
    if (!accountName) throw new ConnectionStringError('The connection string has an AccountKey but no AccountName, and the endpoint does not name the account.');
    return { blobEndpoint, accountName, accountKey };
  }
  if (sas) return { blobEndpoint, accountName, sas };
  throw new ConnectionStringError('The connection string has neither AccountKey= nor SharedAccessSignature=; copy it whole from the storage account\'s "Access keys" or "Shared access signature" page.');
}
