import * as rules from '../../config/rules.js';
import type { ArgDefinition, InputDefinition } from '../../splunk/args.js';
import { accountArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

// Kept free of Node.js imports (the configuration page bundles the definitions).
export const HUNTING_API_PATH = '/v1.0/security/runHuntingQuery';

const queryRule: rules.Rule = (v) => {
  const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\||$)/.exec(v);
  if (!match || /^(let|union|search|find|print|datatable|range|externaldata|evaluate|set|declare|materialize)$/i.test(match[1]!)) {
    return 'The query must start with a table name, e.g. DeviceProcessEvents | where FileName =~ "powershell.exe": the input applies its time window right after the table.';
  }
  return undefined;
};

export const huntingDefinition: InputDefinition = {
  scheme: 'defender_xdr_hunting',
  resident: true,
  title: 'Microsoft Defender XDR advanced hunting',
  description: 'Rows of a scheduled advanced-hunting (KQL) query through Microsoft Graph (security/runHuntingQuery), each row once, by ingestion time.',
  args: [
    accountArg,
    {
      name: 'query',
      title: 'Query (KQL)',
      description: 'Advanced-hunting KQL starting with a table, without time filters, e.g. DeviceProcessEvents | where FileName =~ "powershell.exe". Keep the IngestionTime column the input adds if you project.',
      dataType: 'string',
      required: true,
      specType: '<KQL>',
      validate: queryRule,
      multiline: true,
    },
    { ...startDateArg, description: 'Collect rows ingested since this ISO 8601 UTC date on the first run (and after the query changes); at most 30 days back.', defaultText: '24 hours before the first run' },
    {
      name: 'time_column',
      title: 'Time column',
      description: "The result column that sets each event's _time.",
      dataType: 'string',
      required: false,
      defaultText: 'Timestamp',
      specType: '<column name>',
      validate: (v) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : `"${v}" is not a column name.`),
    },
    {
      name: 'max_lateness',
      title: 'Maximum lateness (seconds)',
      description: 'Rows Microsoft ingests up to this long after their Timestamp are collected exactly once; later ones are not read (it bounds the CPU each run costs).',
      dataType: 'number',
      required: false,
      defaultText: '14400 (4 hours)',
      specType: '<integer>',
      validate: rules.integerBetween(60, 30 * 86_400),
    },
    {
      name: 'ingestion_lag',
      title: 'Ingestion lag (seconds)',
      description: 'Each run reads rows ingested up to this long before it starts, so rows still being committed are left for the next run.',
      dataType: 'number',
      required: false,
      defaultText: '300',
      specType: '<integer>',
      validate: rules.integerBetween(0, 3600),
    },
    {
      name: 'row_limit',
      title: 'Rows per query',
      description: "Microsoft's cap on the rows of one query; a window that returns this many is split and asked again.",
      dataType: 'number',
      required: false,
      defaultText: '100000',
      specType: '<integer>',
      validate: rules.integerBetween(1, 100_000),
    },
    reReadWindowArg,
  ] satisfies ArgDefinition[],
  probe: { path: HUNTING_API_PATH, permission: 'ThreatHunting.Read.All', body: { Query: 'AlertInfo | take 1', Timespan: 'PT1H' } },
};
