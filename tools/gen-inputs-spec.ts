// Regenerates README/inputs.conf.spec from the input definitions (npm run gen:spec); a test fails if the committed file drifts.
import { writeFileSync } from 'node:fs';
import { SCHEMES } from '../src/inputs/catalog.js';
import { inputsSpec } from '../src/splunk/scheme.js';

writeFileSync(new URL('../README/inputs.conf.spec', import.meta.url), inputsSpec(SCHEMES));
console.log('README/inputs.conf.spec written');
