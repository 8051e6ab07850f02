import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { pollAlerts } from '../sources/graph-alerts/index.js';
import { main } from './runInput.js';

main({
  definition: alertsDefinition,
  poll: pollAlerts,
  unsupported: (account) =>
    account.cloud === 'china'
      ? `Account "${account.name}" is in the China cloud (21Vianet), where Microsoft Graph does not offer security/alerts_v2. Use the defender_xdr_incidents input, which carries the alerts inside each incident.`
      : undefined,
});
