/**
 * TEST TOOL — preloaded with NODE_OPTIONS=--require=<this file>: records every path the process
 * opens or reads through node:fs (require()'s loader and the code cache's reads both go through
 * them) and writes the list, one a line, to $TA_TEST_FILES_READ when the process exits.
 */
'use strict';
const fs = require('node:fs');
const out = process.env.TA_TEST_FILES_READ;
const seen = new Set();
for (const name of ['readFileSync', 'openSync', 'readFile', 'open']) {
  const original = fs[name];
  fs[name] = function (file, ...rest) {
    if (typeof file === 'string') seen.add(file);
    return original.call(this, file, ...rest);
  };
}
process.on('exit', () => {
  if (out) fs.writeFileSync(out, [...seen].join('\n'));
});
