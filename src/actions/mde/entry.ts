import { createLogger, redactSecret, type Logger, type LogFields } from '../../splunk/log.js';
import { openAddonLog } from '../../splunk/logFile.js';
import { readStdin } from '../../splunk/modinput.js';
import { parsePayload, type ActionPayload } from '../payload.js';
import { ModActionAudit } from './modAction.js';

/** What a Defender for Endpoint response action reads and writes as a process (tests pass their own). */
export interface ModActionIo {
  argv: string[];
  stdin: NodeJS.ReadableStream;
  stderrLine: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

export const processIo = (): ModActionIo => ({ argv: process.argv.slice(2), stdin: process.stdin, stderrLine: (line) => process.stderr.write(line + '\n'), env: process.env });

/** What the shared entry hands an action once the payload is read. */
export interface ModActionStart {
  payload: ActionPayload;
  logger: Logger;
  /** One line to stderr (splunkd.log) and to the add-on's log file. */
  write: (line: string) => void;
  base: LogFields;
  started: number;
  env: NodeJS.ProcessEnv;
  /** The ES audit and results writer for this run, into the given results index. */
  audit: (resultIndex: string) => ModActionAudit;
}

/**
 * The entry both response actions share, as sendmodalert starts them: the add-on's log file beside
 * stderr, `--execute`, the payload read and its session key redacted. Returns the exit code.
 */
export async function runModAction(actionName: string, io: ModActionIo, body: (start: ModActionStart) => Promise<number>): Promise<number> {
  const started = Date.now();
  const logFile = openAddonLog(io.env, io.stderrLine);
  const write = (line: string) => {
    io.stderrLine(line);
    logFile?.write(`${line} pid=${process.pid}`);
  };
  try {
    const logger: Logger = createLogger({ write }, { action: actionName });
    if (io.argv[0] !== '--execute') {
      logger.error(`Unknown mode ${io.argv[0] ?? '(none)'}: splunkd runs alert actions with --execute and the payload on stdin`);
      return 2;
    }
    let payload: ActionPayload;
    let raw: Record<string, unknown>;
    try {
      const text = await readStdin(io.stdin);
      payload = parsePayload(text);
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      logger.error(`Cannot read the payload from splunkd: ${(error as Error).message}`);
      return 1;
    }
    redactSecret(payload.sessionKey);
    const base: LogFields = { action: actionName, search_name: payload.searchName, sid: payload.sid };
    const str = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : '');
    const audit = (resultIndex: string) =>
      new ModActionAudit({ actionName, searchName: payload.searchName ?? '', sid: payload.sid ?? '', app: payload.app ?? '', user: str('owner'), worker: str('server_host'), resultIndex, splunkHome: io.env.SPLUNK_HOME });
    return await body({ payload, logger: logger.child(base), write, base, started, env: io.env, audit });
  } finally {
    logFile?.close();
  }
}
