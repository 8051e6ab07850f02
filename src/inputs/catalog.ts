import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { incidentsDefinition } from '../sources/graph-incidents/definition.js';
import { mdeAlertsDefinition } from '../sources/mde-alerts/definition.js';
import { streamingBlobDefinition } from '../sources/streaming-blob/definition.js';
import { streamingEventHubDefinition } from '../sources/streaming-eventhub/definition.js';
import type { InputDefinition } from '../splunk/scheme.js';

/** Every input scheme the app ships; build.mjs bundles src/inputs/<scheme>.ts for each. */
export const INPUTS: InputDefinition[] = [alertsDefinition, incidentsDefinition, mdeAlertsDefinition, streamingBlobDefinition, streamingEventHubDefinition];
