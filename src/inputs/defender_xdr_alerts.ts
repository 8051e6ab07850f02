import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { start } from './start.js';

start(alertsDefinition, (collector) => ({
  poll: collector.pollAlerts,
  unsupported: (account) =>
    account.cloud === 'china'
      ? `Account "${account.name}" is in the China cloud (21Vianet), where Microsoft Graph does not offer security/alerts_v2. Use the defender_xdr_incidents input, which carries the alerts inside each incident.`
      : undefined,
}));
