// The Azure SDKs of the streaming inputs, bundled apart as bin/lib/azure-sdks.js (build.mjs) and
// loaded by azureSdks.ts only when a streaming input runs: in the collector bundle they were
// 1.6 MB of the 2.6 MB that every quiet Graph poll held in memory (docs/performance.md).
// One bundle for all of them, so that they share one copy of the Azure core packages.
export * as storageBlob from '@azure/storage-blob';
export * as eventHubs from '@azure/event-hubs';
export * as checkpointStoreBlob from '@azure/eventhubs-checkpointstore-blob';
export * as coreRestPipeline from '@azure/core-rest-pipeline';
export * as coreHttpCompat from '@azure/core-http-compat';
