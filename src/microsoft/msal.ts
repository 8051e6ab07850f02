// msal-node's values, imported by auth.ts only when a token must be fetched: a poll served from
// the token cache (tokenCache.ts) never loads msal. In the built collector msal-node is its own
// bundle, bin/lib/msal-node.js (build.mjs, msalShim; loaded by msalNode.ts).
export { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
