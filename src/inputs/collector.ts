// Everything an input needs beyond its definition, bundled once into bin/lib/collector.js and
// shared by all inputs; loaded only when splunkd asks for more than --scheme.
export { main } from './runInput.js';
export { pollAlerts } from '../sources/graph-alerts/index.js';
export { pollIncidents } from '../sources/graph-incidents/index.js';
export { pollHunting } from '../sources/graph-hunting/index.js';
export { checkHunting } from '../sources/graph-hunting/validate.js';
export { checkConnection, idlePoll } from '../connection/input.js';
export { pollMdeAlerts } from '../sources/mde-alerts/index.js';
export { pollMdeMachines } from '../sources/mde-machines/index.js';
export { pollMdeVulnerabilities } from '../sources/mde-vulnerabilities/index.js';
export { mdeUnsupported } from '../microsoft/mde.js';
export { adoptPageWorker } from '../sources/pageParser.js';

// The streaming inputs' Azure SDKs are evaluated only when a streaming input runs (esbuild keeps
// dynamically imported modules behind lazy initialisers), so the Graph inputs do not pay for them.
type Blob = typeof import('../sources/streaming-blob/index.js');
type EventHub = typeof import('../sources/streaming-eventhub/index.js');
export const collectStreamingBlob: Blob['collectStreamingBlob'] = async (ctx) => (await import('../sources/streaming-blob/index.js')).collectStreamingBlob(ctx);
export const validateStreamingBlob: Blob['validateStreamingBlob'] = async (...args) => (await import('../sources/streaming-blob/index.js')).validateStreamingBlob(...args);
export const collectStreamingEventHub: EventHub['collectStreamingEventHub'] = async (ctx) => (await import('../sources/streaming-eventhub/index.js')).collectStreamingEventHub(ctx);
export const validateStreamingEventHub: EventHub['validateStreamingEventHub'] = async (...args) => (await import('../sources/streaming-eventhub/index.js')).validateStreamingEventHub(...args);
