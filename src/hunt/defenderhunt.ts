// `| defenderhunt`: Splunk's chunked search command protocol on stdin/stdout (commands.conf chunked = true).
import { runCommand } from './command.js';

void runCommand(process.stdin, process.stdout, (line) => process.stderr.write(line + '\n')).then((code) => {
  process.exitCode = code;
});
