import { incidentsDefinition } from '../sources/graph-incidents/definition.js';
import { pollIncidents } from '../sources/graph-incidents/index.js';
import { main } from './runInput.js';

main({ definition: incidentsDefinition, poll: pollIncidents });
