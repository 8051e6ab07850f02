import { streamingEventHubDefinition } from '../sources/streaming-eventhub/definition.js';
import { start } from './start.js';

start(streamingEventHubDefinition, (collector) => ({ collect: collector.collectStreamingEventHub, validateConfig: collector.validateStreamingEventHub }));
