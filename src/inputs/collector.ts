// Everything an input needs beyond its definition, bundled once into bin/lib/collector.js and
// shared by all inputs; loaded only when splunkd asks for more than --scheme.
export { main } from './runInput.js';
export { pollAlerts } from '../sources/graph-alerts/index.js';
export { pollIncidents } from '../sources/graph-incidents/index.js';
export { collectStreamingBlob, validateStreamingBlob } from '../sources/streaming-blob/index.js';
export { collectStreamingEventHub, validateStreamingEventHub } from '../sources/streaming-eventhub/index.js';
