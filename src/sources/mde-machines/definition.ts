import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg } from '../commonArgs.js';

export const mdeMachinesDefinition: InputDefinition = {
  scheme: 'defender_endpoint_machines',
  title: 'Microsoft Defender for Endpoint devices',
  probe: { path: '/api/machines', permission: 'Machine.Read.All', api: 'mde' },
  description: 'The device inventory of Defender for Endpoint (api/machines): every device once per poll, a full snapshot, for CIM Inventory and the ES asset lookup defender_xdr_assets.',
  args: [
    accountArg,
    {
      name: 'filter',
      title: 'Filter',
      description: "Optional OData $filter on the machines API's filterable properties, e.g. healthStatus eq 'Active' or onboardingStatus eq 'Onboarded'.",
      dataType: 'string',
      required: false,
      specType: '<OData filter clause>',
      validate: rules.odataFilter,
    },
  ],
};
