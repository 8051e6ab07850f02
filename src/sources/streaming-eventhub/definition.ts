import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg } from '../commonArgs.js';
import { caFileArg } from '../streaming/args.js';

export const EVENTHUB_AUTH_TYPES = ['connection_string', 'entra'] as const;
export type EventHubAuthType = (typeof EVENTHUB_AUTH_TYPES)[number];
export const CHECKPOINT_STORES = ['local', 'blob'] as const;

const NAMESPACE = /^[a-z][a-z0-9-]{4,48}[a-z0-9]\.[a-z0-9.-]+\.[a-z]{2,}$/i;
const oneOf = (values: readonly string[]) => (v: string) => (values.includes(v) ? undefined : `"${v}" must be one of ${values.join(', ')}.`);

export const streamingEventHubDefinition: InputDefinition = {
  scheme: 'defender_xdr_streaming_eventhub',
  title: 'Microsoft Defender XDR streaming (Event Hubs)',
  description:
    "Advanced-hunting events that the Defender XDR Streaming API sends to an Event Hub; each message's records become events. Each run consumes for a bounded time, checkpointing per partition.",
  args: [
    {
      name: 'auth_type',
      title: 'Authentication',
      description:
        "connection_string (stored in storage/passwords, realm TA-defender-xdr, user = the input's stanza name) or entra (the account's app, with the Azure Event Hubs Data Receiver role).",
      dataType: 'string',
      required: false,
      defaultText: 'connection_string',
      specType: 'connection_string|entra',
      validate: oneOf(EVENTHUB_AUTH_TYPES),
    },
    { ...accountArg, required: false, description: 'With auth_type = entra: the account stanza in defender_xdr_account.conf whose app signs in.' },
    {
      name: 'namespace',
      title: 'Event Hubs namespace',
      description: 'Fully qualified namespace, e.g. contoso-defender.servicebus.windows.net. Required with entra; a connection string carries its own.',
      dataType: 'string',
      required: false,
      specType: '<host name>',
      validate: (v) => (NAMESPACE.test(v) ? undefined : `"${v}" is not a fully qualified namespace such as contoso-defender.servicebus.windows.net.`),
    },
    {
      name: 'event_hub',
      title: 'Event hub',
      description: 'Name of the event hub (one for all tables, or insights-logs-advancedhunting-<table> per table). Required unless the connection string has EntityPath.',
      dataType: 'string',
      required: false,
      specType: '<string>',
      validate: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/.test(v) ? undefined : `"${v}" is not an event hub name (letters, digits, '.', '_', '-').`),
    },
    {
      name: 'consumer_group',
      title: 'Consumer group',
      description: 'Consumer group to read with; give the add-on its own, so other readers keep theirs.',
      dataType: 'string',
      required: false,
      defaultText: '$Default',
      specType: '<string>',
      validate: (v) => (/^(\$Default|[A-Za-z0-9][A-Za-z0-9._-]{0,49})$/.test(v) ? undefined : `"${v}" is not a consumer group name.`),
    },
    {
      name: 'checkpoint_store',
      title: 'Checkpoint store',
      description:
        "local: a file in splunkd's checkpoint folder (one forwarder). blob: a storage container (checkpoint_container_url), which several forwarders reading the same hub and consumer group share to split the partitions.",
      dataType: 'string',
      required: false,
      defaultText: 'local',
      specType: 'local|blob',
      validate: oneOf(CHECKPOINT_STORES),
    },
    {
      name: 'checkpoint_container_url',
      title: 'Checkpoint container URL',
      description:
        "With checkpoint_store = blob: https://<account>.blob.core.windows.net/<container>. Access: with entra the account's app (Storage Blob Data Contributor); otherwise a SAS token stored in storage/passwords under user <stanza name>#checkpoint.",
      dataType: 'string',
      required: false,
      specType: '<https URL>',
      validate: (v) => rules.httpsUrl(v) ?? (new URL(v).search ? 'must not contain a query (put the SAS token in storage/passwords).' : undefined),
    },
    {
      name: 'start_position',
      title: 'Start position',
      description: 'Where to start in a partition that has no checkpoint yet: earliest (everything the hub still retains) or latest (only new events).',
      dataType: 'string',
      required: false,
      defaultText: 'earliest',
      specType: 'earliest|latest',
      validate: oneOf(['earliest', 'latest']),
    },
    {
      name: 'run_seconds',
      title: 'Run time (seconds)',
      description: 'Each run consumes at most this long, or until every partition it owns is caught up, then checkpoints and exits; interval starts the next run.',
      dataType: 'number',
      required: false,
      defaultText: '240',
      specType: '<integer>',
      validate: rules.integerBetween(10, 3600),
    },
    caFileArg,
  ],
};

export interface EventHubParams {
  authType: EventHubAuthType;
  account?: string;
  namespace?: string;
  eventHub?: string;
  consumerGroup: string;
  checkpointStore: 'local' | 'blob';
  checkpointContainerUrl?: string;
  startPosition: 'earliest' | 'latest';
  runSeconds: number;
  caFile?: string;
}

export function eventHubParams(params: Record<string, string>): EventHubParams {
  const value = (name: string) => params[name]?.trim() || undefined;
  return {
    authType: (value('auth_type') ?? 'connection_string') as EventHubAuthType,
    account: value('account'),
    namespace: value('namespace'),
    eventHub: value('event_hub'),
    consumerGroup: value('consumer_group') ?? '$Default',
    checkpointStore: value('checkpoint_store') === 'blob' ? 'blob' : 'local',
    checkpointContainerUrl: value('checkpoint_container_url'),
    startPosition: value('start_position') === 'latest' ? 'latest' : 'earliest',
    runSeconds: Number(value('run_seconds') ?? 240),
    caFile: value('ca_file'),
  };
}

/** What the single fields cannot show: which combinations are complete. */
export function eventHubParamsProblem(params: Record<string, string>): string | undefined {
  const p = eventHubParams(params);
  if (p.authType === 'entra') {
    if (!p.account) return 'Account (account) is required with auth_type = entra.';
    if (!p.namespace) return 'Event Hubs namespace (namespace) is required with auth_type = entra.';
    if (!p.eventHub) return 'Event hub (event_hub) is required with auth_type = entra.';
  }
  if (p.checkpointStore === 'blob' && !p.checkpointContainerUrl) return 'Checkpoint container URL (checkpoint_container_url) is required with checkpoint_store = blob.';
  if (p.checkpointStore === 'local' && p.checkpointContainerUrl) return 'Checkpoint container URL (checkpoint_container_url) is only used with checkpoint_store = blob.';
  return undefined;
}
