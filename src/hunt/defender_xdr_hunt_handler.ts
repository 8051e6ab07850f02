// The persistent REST handler of defender_xdr/hunt (restmap.conf): splunkd starts it through its
// driver (the launcher) and sends requests on stdin in the persistconn protocol.
import { createLogger } from '../splunk/log.js';
import { openAddonLog } from '../splunk/logFile.js';
import { handleHunt } from './handler.js';
import { servePersistent } from './persistconn.js';

const logFile = openAddonLog(process.env, (line) => process.stderr.write(line + '\n'));
const logger = createLogger({
  write: (line) => {
    process.stderr.write(line + '\n');
    logFile?.write(`${line} pid=${process.pid}`);
  },
}, { component: 'defender_xdr_hunt' });

void servePersistent(process.stdin, process.stdout, (request) => handleHunt(request, logger)).then(() => logFile?.close());
