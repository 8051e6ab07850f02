import path from 'node:path';
import { codeCacheDir, requireCached } from '../inputs/codeCache.js';
import type * as Sdks from './sdks.js';

let sdks: typeof Sdks | undefined;

/**
 * bin/lib/azure-sdks.js beside the collector bundle, loaded on first use and compiled from V8's
 * code cache like the collector (codeCache.ts). In the built collector, every import of these
 * SDKs resolves here (build.mjs, azureSdkShims); run from source (tests), they are imported directly.
 */
export function azureSdks(): typeof Sdks {
  return (sdks ??= requireCached<typeof Sdks>(path.join(__dirname, 'azure-sdks.js'), codeCacheDir(process.env)).exports);
}
