/**
 * Logging for splunkd: one line per message on stderr, starting with the level word so
 * splunkd's ExecProcessor files it under that level in splunkd.log (index=_internal).
 * Lines are `LEVEL message key=value ...` so they can be searched and charted.
 * Secrets registered with `redactSecret` are masked in every line as a last line of defence:
 * the code never passes secrets here on purpose.
 */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export const LOG_LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
const ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const secrets = new Set<string>();

/** Registers a value that must never appear in any log line (client secret, private key, passwords, tokens). */
export function redactSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Masks registered secrets; PEM blocks are masked line by line, since a PEM may be logged partially. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    for (const part of secret.split(/\r?\n/)) {
      if (part.length >= 8 && out.includes(part)) out = out.split(part).join('********');
    }
    if (out.includes(secret)) out = out.split(secret).join('********');
  }
  // Bearer tokens never belong in a log line, whoever produced the text.
  return out.replace(/(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, '$1********');
}

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatLine(level: LogLevel, message: string, fields: LogFields): string {
  const pairs = Object.entries(fields)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  // One physical line per message: splunkd splits stderr on newlines.
  const text = [level, message.replace(/[\r\n]+/g, ' '), ...pairs].join(' ');
  return redact(text);
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const threshold = ORDER[options.level ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (ORDER[level] >= threshold) write(formatLine(level, message, { ...base, ...fields }));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARN', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const upper = (value ?? '').trim().toUpperCase();
  if (upper === 'WARNING') return 'WARN';
  return upper === 'DEBUG' || upper === 'INFO' || upper === 'WARN' || upper === 'ERROR' ? upper : 'INFO';
}
