import { BlobRest } from '../../azure/blobRest.js';
import { parseStorageConnectionString } from '../../azure/storageConnectionString.js';
import { ConfigError } from '../../config/account.js';
import type { HttpClient } from '../../http/client.js';
import type { BlobAuthType } from './definition.js';

export interface StorageParams {
  authType: BlobAuthType;
  storageAccount?: string;
  blobEndpoint?: string;
}

const BASE64_KEY = /^[A-Za-z0-9+/]{20,}={0,2}$/;

/** The Blob service client for the input's credential, on our HTTP client (proxy, ca_file, TLS verification, retries). */
export function blobService(params: StorageParams, secret: string, http: HttpClient): BlobRest {
  if (params.authType === 'connection_string') {
    let connection;
    try {
      connection = parseStorageConnectionString(secret);
    } catch (error) {
      // The parser's messages never include the string itself; keep it that way.
      throw new ConfigError((error as Error).message.replace(/^The connection string/, 'The stored connection string'));
    }
    if (connection.accountKey) {
      if (!BASE64_KEY.test(connection.accountKey)) throw new ConfigError('The stored connection string\'s AccountKey is not a base64 key; copy the connection string whole from the storage account\'s "Access keys" page.');
      return new BlobRest(http, connection.blobEndpoint, { kind: 'shared_key', account: connection.accountName!, key: Buffer.from(connection.accountKey, 'base64') });
    }
    return new BlobRest(http, connection.blobEndpoint, { kind: 'sas', token: connection.sas! });
  }
  const endpoint = (params.blobEndpoint || `https://${params.storageAccount}.blob.core.windows.net`).replace(/\/+$/, '');
  if (params.authType === 'account_key') {
    if (!BASE64_KEY.test(secret)) throw new ConfigError('The stored storage account key is not a base64 key; copy key1 or key2 from the storage account\'s "Access keys" page.');
    return new BlobRest(http, endpoint, { kind: 'shared_key', account: params.storageAccount ?? '', key: Buffer.from(secret, 'base64') });
  }
  const token = secret.replace(/^\?/, '');
  if (!/(^|&)sig=/.test(token)) throw new ConfigError('The stored SAS token has no sig= parameter; store the token (sv=...&sig=...) from the storage account\'s "Shared access signature" page.');
  return new BlobRest(http, endpoint, { kind: 'sas', token });
}
