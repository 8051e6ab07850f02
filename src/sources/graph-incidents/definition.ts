import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg, filterArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

export const incidentsDefinition: InputDefinition = {
  scheme: 'defender_xdr_incidents',
  title: 'Microsoft Defender XDR incidents',
  description: 'Incidents with their alerts through Microsoft Graph (security/incidents?$expand=alerts), one event per incident version.',
  args: [accountArg, startDateArg, filterArg, reReadWindowArg],
};
