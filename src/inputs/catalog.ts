import { connectionTestDefinition } from '../connection/definition.js';
import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { incidentsDefinition } from '../sources/graph-incidents/definition.js';
import { huntingDefinition } from '../sources/graph-hunting/definition.js';
import { mdeAlertsDefinition } from '../sources/mde-alerts/definition.js';
import { mdeMachinesDefinition } from '../sources/mde-machines/definition.js';
import { mdeVulnerabilitiesDefinition } from '../sources/mde-vulnerabilities/definition.js';
import { streamingBlobDefinition } from '../sources/streaming-blob/definition.js';
import { streamingEventHubDefinition } from '../sources/streaming-eventhub/definition.js';
import type { InputDefinition } from '../splunk/args.js';

/** Every data input the app ships; the configuration page offers each of them. */
export const INPUTS: InputDefinition[] = [alertsDefinition, incidentsDefinition, mdeAlertsDefinition, streamingBlobDefinition, streamingEventHubDefinition, huntingDefinition, mdeMachinesDefinition, mdeVulnerabilitiesDefinition];

/** Every scheme splunkd learns from the app; build.mjs bundles src/inputs/<scheme>.ts for each. */
export const SCHEMES: InputDefinition[] = [...INPUTS, connectionTestDefinition];
