import path from 'node:path';
import { codeCacheDir, requireCached } from '../inputs/codeCache.js';

type MsalNode = typeof import('@azure/msal-node');
let msal: MsalNode | undefined;

/**
 * bin/lib/msal-node.js beside the collector bundle, loaded on the first token fetch and compiled
 * from V8's code cache like the collector (codeCache.ts). In the built collector every import of
 * @azure/msal-node resolves here (build.mjs, msalShim); run from source (tests), it is imported directly.
 */
export function msalNode(): MsalNode {
  return (msal ??= requireCached<MsalNode>(path.join(__dirname, 'msal-node.js'), codeCacheDir(process.env)).exports);
}
