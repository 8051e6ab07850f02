import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { pollAlerts } from '../sources/graph-alerts/index.js';
import { main } from './runInput.js';

main({ definition: alertsDefinition, poll: pollAlerts });
