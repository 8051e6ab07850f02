import { connectionTestDefinition } from '../connection/definition.js';
import { alertsDefinition } from '../sources/graph-alerts/definition.js';
import { incidentsDefinition } from '../sources/graph-incidents/definition.js';
import type { InputDefinition } from '../splunk/args.js';

/** Every data input the app ships; the configuration page offers each of them. */
export const INPUTS: InputDefinition[] = [alertsDefinition, incidentsDefinition];

/** Every scheme splunkd learns from the app; build.mjs bundles src/inputs/<scheme>.ts for each. */
export const SCHEMES: InputDefinition[] = [...INPUTS, connectionTestDefinition];
