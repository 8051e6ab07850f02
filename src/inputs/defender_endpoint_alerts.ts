import { mdeAlertsDefinition } from '../sources/mde-alerts/definition.js';
import { start } from './start.js';

start(mdeAlertsDefinition, (collector) => ({ poll: collector.pollMdeAlerts, unsupported: collector.mdeUnsupported }));
