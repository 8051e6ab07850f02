import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { caFileArg, tablesRule } from '../streaming/args.js';
import { STREAMING_TABLES } from '../streaming/tables.js';

export const BLOB_AUTH_TYPES = ['account_key', 'sas_token', 'connection_string'] as const;
export type BlobAuthType = (typeof BLOB_AUTH_TYPES)[number];

export const streamingBlobDefinition: InputDefinition = {
  scheme: 'defender_xdr_streaming_blob',
  title: 'Microsoft Defender XDR streaming (Storage Account)',
  description:
    'Advanced-hunting events that the Defender XDR Streaming API writes to an Azure Storage Account (insights-logs-advancedhunting-<table> containers), read incrementally, one event per record.',
  args: [
    {
      name: 'storage_account',
      title: 'Storage account',
      description: 'Name of the Azure Storage Account the Streaming API writes to. Not needed with auth_type = connection_string.',
      dataType: 'string',
      required: false,
      specType: '<string>',
      validate: (v) => (/^[a-z0-9]{3,24}$/.test(v) ? undefined : `"${v}" is not a storage account name (3 to 24 lower-case letters and digits).`),
    },
    {
      name: 'auth_type',
      title: 'Authentication',
      description:
        "account_key, sas_token (needs List and Read on the containers) or connection_string. The secret itself is stored in storage/passwords, realm TA-defender-xdr, user = the input's stanza name (defender_xdr_streaming_blob://<name>).",
      dataType: 'string',
      required: false,
      defaultText: 'account_key',
      specType: 'account_key|sas_token|connection_string',
      validate: (v) => ((BLOB_AUTH_TYPES as readonly string[]).includes(v) ? undefined : `"${v}" must be one of ${BLOB_AUTH_TYPES.join(', ')}.`),
    },
    {
      name: 'blob_endpoint',
      title: 'Blob endpoint',
      description:
        'https URL of the Blob service, for sovereign clouds and private endpoints (e.g. https://<account>.blob.core.usgovcloudapi.net). A connection string carries its own.',
      dataType: 'string',
      required: false,
      defaultText: 'https://<storage_account>.blob.core.windows.net',
      specType: '<https URL>',
      validate: rules.httpsUrl,
    },
    {
      name: 'tables',
      title: 'Tables',
      description: `Comma-separated advanced-hunting tables to read, e.g. DeviceProcessEvents,EmailEvents (${STREAMING_TABLES.length} are streamed). Needed when the SAS token cannot list containers.`,
      dataType: 'string',
      required: false,
      defaultText: 'every insights-logs-advancedhunting-* container of the account',
      specType: '<comma-separated table names>',
      validate: tablesRule,
    },
    {
      name: 'start_date',
      title: 'Start date',
      description: 'On the first run, read blobs last modified since this ISO 8601 UTC date (e.g. 2024-05-01T00:00:00Z).',
      dataType: 'string',
      required: false,
      defaultText: '24 hours before the first run',
      specType: '<ISO 8601 UTC date-time>',
      validate: rules.startDate,
    },
    caFileArg,
  ],
};

/** What the single fields cannot show: which combinations are complete. */
export function blobParamsProblem(params: Record<string, string>): string | undefined {
  const auth = (params.auth_type?.trim() || 'account_key') as BlobAuthType;
  if (auth === 'connection_string') {
    if (params.blob_endpoint?.trim()) return 'Blob endpoint (blob_endpoint): leave it empty with auth_type = connection_string; the connection string carries the endpoint (BlobEndpoint=...).';
    return undefined;
  }
  if (!params.storage_account?.trim() && !params.blob_endpoint?.trim()) return `Storage account (storage_account) is required with auth_type = ${auth}.`;
  if (auth === 'account_key' && !params.storage_account?.trim()) return 'Storage account (storage_account) is required with auth_type = account_key: the key signs requests for that account name.';
  return undefined;
}
