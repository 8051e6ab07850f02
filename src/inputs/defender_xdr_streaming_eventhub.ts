import { streamingEventHubDefinition } from '../sources/streaming-eventhub/definition.js';
import { start } from './start.js';

// @azure/event-hubs 6.0.4 leaves a token-renewal timer (45 min) for each receiver that was
// re-attached after a server-busy or forced detach: partitionReceiver.connect() replaces its auth
// loop without stopping the old one, and client.close() stops only the last. Seen with the Event
// Hubs stand-in (docs/event-hubs-stand-in.md); the run exits 1 s after it is done regardless.
start(streamingEventHubDefinition, (collector) => ({ collect: collector.collectStreamingEventHub, validateConfig: collector.validateStreamingEventHub }), { exitAfterRunMs: 1000 });
