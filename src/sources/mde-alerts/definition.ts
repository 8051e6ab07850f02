import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg, filterArg, reReadWindowArg, startDateArg } from '../commonArgs.js';

export const mdeAlertsDefinition: InputDefinition = {
  scheme: 'defender_endpoint_alerts',
  resident: true,
  title: 'Microsoft Defender for Endpoint alerts',
  description: 'Alerts with their evidence from the Defender for Endpoint alerts API (api/alerts), one event per alert version; optionally in the retired SIEM API layout.',
  args: [
    accountArg,
    startDateArg,
    // The shared filter field, described with this API's own filterable properties.
    { ...filterArg, description: "Optional OData $filter clause ANDed to the input's own, on the API's filterable properties, e.g. severity eq 'High' or status ne 'Resolved'." },
    reReadWindowArg,
    {
      name: 'legacy_siem_format',
      title: 'Legacy SIEM format',
      description: 'Emit each alert in the flat field layout of the retired SIEM API (sourcetype ms:defender:siem:alert) instead of the alerts API JSON (ms:defender:endpoint:alert).',
      dataType: 'boolean',
      required: false,
      defaultText: 'false',
      specType: '<boolean>',
      validate: rules.booleanFlag,
    },
  ],
};
