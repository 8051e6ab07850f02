'use strict';
// jsonwebtoken as msal-node sees it in the bundles (build.mjs aliases it here): loaded on first
// use. msal-node imports it at start-up but calls only sign(), for the client assertion of a
// certificate account; loading it (with semver, jws, the lodash checks) cost every poll ~2 MB of
// peak RSS and ~15 ms of CPU, client-secret accounts included (docs/performance.md, Quiet polls).
let jwt;
module.exports = {
  sign: (...args) => (jwt ??= require('../../node_modules/jsonwebtoken/index.js')).sign(...args),
};
