/** Child process for the concurrent-writer test: appends `count` numbered lines to a LogFile. */
import { LogFile } from '../../src/splunk/logFile.js';

const [file, writer, count, maxBytes, backups] = process.argv.slice(2);
const log = new LogFile(file, { maxBytes: Number(maxBytes), backups: Number(backups) }, (problem) => process.stderr.write(`${problem}\n`));
const padding = 'x'.repeat(60);
for (let seq = 0; seq < Number(count); seq++) log.write(`INFO line writer=${writer} seq=${seq} pad=${padding}`);
log.close();
