import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg, filterArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

export const alertsDefinition: InputDefinition = {
  scheme: 'defender_xdr_alerts',
  title: 'Microsoft Defender XDR alerts',
  description: 'Alerts from every Microsoft Defender product through Microsoft Graph (security/alerts_v2), one event per alert version.',
  args: [accountArg, startDateArg, filterArg, reReadWindowArg],
};
