import { mdeMachinesDefinition } from '../sources/mde-machines/definition.js';
import { start } from './start.js';

start(mdeMachinesDefinition, (collector) => ({ poll: collector.pollMdeMachines, unsupported: collector.mdeUnsupported }));
