import type { InputDefinition } from '../../splunk/args.js';
import { accountArg, filterArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

export const INCIDENTS_PATH = '/v1.0/security/incidents';

export const incidentsDefinition: InputDefinition = {
  scheme: 'defender_xdr_incidents',
  resident: true,
  title: 'Microsoft Defender XDR incidents',
  description: 'Incidents with their alerts through Microsoft Graph (security/incidents?$expand=alerts), one event per incident version.',
  args: [accountArg, startDateArg, filterArg, reReadWindowArg],
  probe: { path: INCIDENTS_PATH, permission: 'SecurityIncident.Read.All' },
};
