import { scaleRun } from './scale.js';
void scaleRun().then((lines) => {
  for (const [l, ok] of lines) console.log(`${ok ? 'PASS' : 'FAIL'} ${l}`);
  process.exit(0);
});
