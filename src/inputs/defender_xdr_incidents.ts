import { incidentsDefinition } from '../sources/graph-incidents/definition.js';
import { start } from './start.js';

start(incidentsDefinition, (collector) => ({ poll: collector.pollIncidents }));
