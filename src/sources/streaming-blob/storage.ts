import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob';
import { azureHttpClient } from '../../azure/httpClient.js';
import { ConfigError } from '../../config/account.js';
import type { Settings } from '../../config/settings.js';
import type { HttpClient } from '../../http/client.js';
import type { BlobAuthType } from './definition.js';

export interface StorageParams {
  authType: BlobAuthType;
  storageAccount?: string;
  blobEndpoint?: string;
}

/** The Blob service client for the input's credential, on our HTTP transport (proxy, ca_file, TLS verification). */
export function blobService(params: StorageParams, secret: string, http: HttpClient, settings: Settings): BlobServiceClient {
  const options: StoragePipelineOptions = {
    httpClient: azureHttpClient(http),
    retryOptions: { maxTries: settings.maxRetries + 1, tryTimeoutInMs: settings.requestTimeoutSeconds * 1000 },
    userAgentOptions: { userAgentPrefix: 'TA-defender-xdr' },
  };
  if (params.authType === 'connection_string') {
    if (!/(^|;)\s*(BlobEndpoint|AccountName)\s*=/i.test(secret)) {
      throw new ConfigError('The stored connection string has neither BlobEndpoint= nor AccountName=; copy it whole from the storage account\'s "Access keys" or "Shared access signature" page.');
    }
    try {
      return BlobServiceClient.fromConnectionString(secret, options);
    } catch (error) {
      // The SDK's message never includes the string itself; keep it that way.
      throw new ConfigError(`The stored connection string is not usable: ${(error as Error).message.split(/\r?\n/)[0]}`);
    }
  }
  const endpoint = (params.blobEndpoint || `https://${params.storageAccount}.blob.core.windows.net`).replace(/\/+$/, '');
  if (params.authType === 'account_key') {
    if (!/^[A-Za-z0-9+/]{20,}={0,2}$/.test(secret)) throw new ConfigError('The stored storage account key is not a base64 key; copy key1 or key2 from the storage account\'s "Access keys" page.');
    return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(params.storageAccount ?? '', secret), options);
  }
  const token = secret.replace(/^\?/, '');
  if (!/(^|&)sig=/.test(token)) throw new ConfigError('The stored SAS token has no sig= parameter; store the token (sv=...&sig=...) from the storage account\'s "Shared access signature" page.');
  return new BlobServiceClient(`${endpoint}?${token}`, new AnonymousCredential(), options);
}
