import { connectionTestDefinition } from '../connection/definition.js';
import { start } from './start.js';

start(connectionTestDefinition, (collector) => ({ poll: collector.idlePoll, check: collector.checkConnection }));
