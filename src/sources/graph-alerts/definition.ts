import type { InputDefinition } from '../../splunk/args.js';
import { accountArg, filterArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

export const ALERTS_PATH = '/v1.0/security/alerts_v2';

export const alertsDefinition: InputDefinition = {
  scheme: 'defender_xdr_alerts',
  resident: true,
  title: 'Microsoft Defender XDR alerts',
  description: 'Alerts from every Microsoft Defender product through Microsoft Graph (security/alerts_v2), one event per alert version.',
  args: [accountArg, startDateArg, filterArg, reReadWindowArg],
  probe: { path: ALERTS_PATH, permission: 'SecurityAlert.Read.All' },
};
