import { huntingDefinition } from '../sources/graph-hunting/definition.js';
import { start } from './start.js';

start(huntingDefinition, (collector) => ({ poll: collector.pollHunting, check: collector.checkHunting }));
