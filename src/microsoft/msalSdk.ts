// msal-node, bundled apart as bin/lib/msal-node.js (build.mjs) and loaded by msalNode.ts only when
// a token must be fetched: a quiet poll whose token is kept (tokenCache.ts) never evaluates it.
export * from '@azure/msal-node';
