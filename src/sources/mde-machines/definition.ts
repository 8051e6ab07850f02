import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg, filterArg } from '../commonArgs.js';

export const mdeMachinesDefinition: InputDefinition = {
  scheme: 'defender_endpoint_machines',
  resident: true,
  title: 'Microsoft Defender for Endpoint devices',
  probe: { path: '/api/machines', permission: 'Machine.Read.All', api: 'mde' },
  description: 'The device inventory of Defender for Endpoint (api/machines): every device once per poll, a full snapshot, for CIM Inventory and the ES asset lookup defender_xdr_assets.',
  args: [
    accountArg,
    // The shared filter field, described with this API's own filterable properties.
    { ...filterArg, description: "Optional OData $filter on the machines API's filterable properties, e.g. healthStatus eq 'Active' or onboardingStatus eq 'Onboarded'." },
    {
      name: 'owner_lookups',
      title: 'Owner lookups per poll',
      description: 'Opt-in (0 = off): at most this many devices that are new or changed since the last poll get their logon users read (GET /api/machines/{id}/logonusers, permission User.Read.All of the WindowsDefenderATP API); the most recent one becomes the device\'s owner, kept for later polls. The calls share the app\'s 100/min and 1,500/h Defender for Endpoint budget.',
      dataType: 'number',
      required: false,
      defaultText: '0',
      specType: '<integer>',
      validate: rules.integerBetween(0, 500),
    },
  ],
};
