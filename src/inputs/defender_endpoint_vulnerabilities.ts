import { mdeVulnerabilitiesDefinition } from '../sources/mde-vulnerabilities/definition.js';
import { start } from './start.js';

start(mdeVulnerabilitiesDefinition, (collector) => ({ poll: collector.pollMdeVulnerabilities, unsupported: collector.mdeUnsupported }));
