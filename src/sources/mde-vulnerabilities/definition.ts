import * as rules from '../../config/rules.js';
import type { InputDefinition } from '../../splunk/scheme.js';
import { accountArg } from '../commonArgs.js';

export const mdeVulnerabilitiesDefinition: InputDefinition = {
  scheme: 'defender_endpoint_vulnerabilities',
  resident: true,
  title: 'Microsoft Defender Vulnerability Management: vulnerabilities by device',
  probe: { path: '/api/machines/SoftwareVulnerabilitiesByMachine', permission: 'Vulnerability.Read.All', api: 'mde' },
  description: 'Software vulnerabilities per device (api/machines/SoftwareVulnerabilitiesByMachine): a full snapshot first and every full_snapshot_days, the changes (New, Fixed, Updated) in between.',
  args: [
    accountArg,
    {
      name: 'full_snapshot_days',
      title: 'Full snapshot every (days)',
      description: 'Days between full exports; the polls in between read only the changes (delta export, at most 14 days back).',
      dataType: 'number',
      required: false,
      defaultText: '7',
      specType: '<integer>',
      validate: rules.integerBetween(1, 13),
    },
  ],
};
