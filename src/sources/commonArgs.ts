import * as rules from '../config/rules.js';
import type { ArgDefinition } from '../splunk/args.js';

/** Parameters every Defender input shares (interval and index are splunkd's own). */
export const accountArg: ArgDefinition = {
  name: 'account',
  title: 'Account',
  description: 'Name of the account stanza in defender_xdr_account.conf whose credentials the input uses.',
  dataType: 'string',
  required: true,
  specType: '<string>',
  validate: rules.accountName,
};

export const startDateArg: ArgDefinition = {
  name: 'start_date',
  title: 'Start date',
  description: 'Collect items updated since this ISO 8601 UTC date on the first run (e.g. 2024-05-01T00:00:00Z).',
  dataType: 'string',
  required: false,
  defaultText: '7 days before the first run',
  specType: '<ISO 8601 UTC date-time>',
  validate: rules.startDate,
};

export const filterArg: ArgDefinition = {
  name: 'filter',
  title: 'Filter',
  description: "Optional OData $filter clause ANDed to the input's own, e.g. severity eq 'high'.",
  dataType: 'string',
  required: false,
  specType: '<OData filter clause>',
  validate: rules.odataFilter,
};

export const reReadWindowArg: ArgDefinition = {
  name: 'reread_window',
  title: 'Re-read window (seconds)',
  description: 'Each poll re-reads this many seconds before the last high-water mark to catch items the API indexed late; repeats are skipped.',
  dataType: 'number',
  required: false,
  defaultText: '[collection] reread_window of defender_xdr_settings.conf (300)',
  specType: '<integer>',
  validate: rules.integerBetween(0, 86_400),
};
