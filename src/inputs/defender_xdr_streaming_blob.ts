import { streamingBlobDefinition } from '../sources/streaming-blob/definition.js';
import { start } from './start.js';

start(streamingBlobDefinition, (collector) => ({ collect: collector.collectStreamingBlob, validateConfig: collector.validateStreamingBlob }));
