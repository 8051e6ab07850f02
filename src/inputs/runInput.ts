import { readFileSync } from 'node:fs';
import { accountFromStanza, ACCOUNT_CONF, ConfigError, loadSecret, validateAccountStanza, type Account } from '../config/account.js';
import { interval } from '../config/rules.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { openAccountSession, type AccountSession, type AccountSessionOptions } from '../microsoft/accountSession.js';
import { tokenCacheDir } from '../microsoft/tokenCache.js';
import type { PollContext, PollSummary, StreamingContext } from '../sources/pollContext.js';
import { EventWriter } from '../splunk/eventWriter.js';
import { exitWhenDone } from '../splunk/exitCode.js';
import { createLogger, redactSecret, type Logger } from '../splunk/log.js';
import { openAddonLog } from '../splunk/logFile.js';
import { parseInputConfig, parseRunConfig, readStdin, type InputConfig, type RunConfig, type StanzaConfig } from '../splunk/modinput.js';
import { SplunkRest } from '../splunk/rest.js';
import { LockHeldError } from '../splunk/stanzaLock.js';
import { schemeXml, validateParams, type InputDefinition } from '../splunk/scheme.js';
import { xmlText } from '../splunk/xml.js';
import { errorKind } from './errorKind.js';

export interface InputProgram {
  definition: InputDefinition;
  poll: (ctx: PollContext) => Promise<PollSummary>;
  /** Says why this input cannot work with an account (e.g. an API its cloud does not offer). */
  unsupported?: (account: Account) => string | undefined;
  /** A further check of `--validate-arguments` once the parameters and account are valid; returns a refusal or undefined. */
  check?: (config: InputConfig, logger: Logger) => Promise<string | undefined>;
}

/**
 * An input that reads its own credentials (storage key, SAS token, connection string) from
 * storage/passwords; the Entra account is optional and only loaded when `account` is set.
 */
export interface StreamingProgram {
  definition: InputDefinition;
  collect: (ctx: StreamingContext) => Promise<PollSummary>;
  /** Checks what the parameters cannot show alone (e.g. that the input's secret is stored). */
  validateConfig?: (params: Record<string, string>, rest: SplunkRest, stanza: string) => Promise<string | undefined>;
}

type Program = InputProgram | StreamingProgram;

function isStreaming(program: Program): program is StreamingProgram {
  return 'collect' in program;
}

interface Io {
  argv: string[];
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & import('node:stream').Writable;
  stderrLine: (line: string) => void;
  /** SPLUNK_HOME locates the add-on log file. */
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): Io => ({
  argv: process.argv.slice(2),
  stdin: process.stdin,
  stdout: process.stdout,
  stderrLine: (line) => process.stderr.write(line + '\n'),
  env: process.env,
});

/** The entry point of every input: dispatches on splunkd's three modes and returns the exit code. */
export async function runInput(program: Program, io: Io = defaultIo()): Promise<number> {
  const mode = io.argv[0];
  if (mode === '--scheme') {
    await write(io.stdout, schemeXml(program.definition) + '\n');
    return 0;
  }
  if (mode === '--validate-arguments') return validate(program, io);
  if (mode) {
    io.stderrLine(`ERROR Unknown argument ${mode}: expected --scheme, --validate-arguments or the run configuration on stdin`);
    return 2;
  }
  return run(program, io);
}

async function validate(program: Program, io: Io): Promise<number> {
  let problem: string | undefined;
  try {
    const config = parseInputConfig(await readStdin(io.stdin));
    problem = validateParams(program.definition, config.params);
    if (!problem && config.params.interval) problem = prefix('Interval (interval)', interval(config.params.interval.trim()));
    const streaming = isStreaming(program) ? program : undefined;
    if (!problem && (!streaming || config.params.account?.trim())) problem = await validateAccount(program, config);
    if (!problem && streaming?.validateConfig) problem = await streaming.validateConfig(config.params, new SplunkRest(config.serverUri, config.sessionKey), config.stanza);
    if (!problem && !isStreaming(program) && program.check) problem = await program.check(config, createLogger({ write: io.stderrLine }));
  } catch (error) {
    problem = (error as Error).message;
  }
  if (!problem) return 0;
  await write(io.stdout, `<error><message>${xmlText(problem)}</message></error>\n`);
  return 1;
}

function prefix(label: string, problem: string | undefined): string | undefined {
  return problem ? `${label}: ${problem}` : undefined;
}

/** The account must exist, be well formed and have its secret stored. */
async function validateAccount(program: Program, config: InputConfig): Promise<string | undefined> {
  const rest = new SplunkRest(config.serverUri, config.sessionKey);
  const name = config.params.account.trim();
  const stanza = await rest.confStanza(ACCOUNT_CONF, name);
  if (!stanza) return `Account (account): "${name}" does not exist. Create the account first.`;
  const problem = validateAccountStanza(name, stanza);
  if (problem) return problem;
  const account = accountFromStanza(name, stanza);
  const unsupported = isStreaming(program) ? undefined : program.unsupported?.(account);
  if (unsupported) return unsupported;
  try {
    await loadSecret(rest, account);
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

async function run(program: Program, io: Io): Promise<number> {
  const logFile = openAddonLog(io.env, io.stderrLine);
  try {
    return await runWithLog(program, io, (line) => {
      // splunkd.log (through stderr) and the add-on's own file get the same, already redacted line.
      io.stderrLine(line);
      logFile?.write(`${line} pid=${process.pid}`);
    });
  } finally {
    logFile?.close();
  }
}

async function runWithLog(program: Program, io: Io, writeLine: (line: string) => void): Promise<number> {
  let config: RunConfig;
  try {
    config = parseRunConfig(await readStdin(io.stdin));
  } catch (error) {
    createLogger({ write: writeLine }).error(`Cannot read the configuration from splunkd: ${(error as Error).message}`, { error_kind: 'config' });
    return 1;
  }
  redactSecret(config.sessionKey);
  const rest = new SplunkRest(config.serverUri, config.sessionKey);
  const writer = new EventWriter(io.stdout, config.stanzas[0]!.stanza);
  // Read once here, for the first poll and to choose the mode; a failure is that poll's to report.
  const settings = await loadSettings(rest).catch(() => undefined);
  if (settings?.resident && !isStreaming(program) && program.definition.resident && (await singleInstanceRun(config, rest, program.definition.scheme))) {
    const { runResident } = await import('./resident.js');
    return runResident({ program, config, rest, writer, writeLine, env: io.env, settings });
  }
  let exitCode = 0;
  try {
    // One stanza per process, as splunkd runs these inputs; several only when splunkd was told
    // single-instance and the resident setting has since been turned off (until it restarts).
    for (const [i, stanza] of config.stanzas.entries()) {
      const outcome = await pollStanza({ program, config, stanza, rest, writer: writer.forStanza(stanza.stanza), writeLine, env: io.env, settings: i === 0 ? settings : undefined });
      if (outcome !== 'success' && outcome !== 'skipped') exitCode = 1;
    }
  } finally {
    try {
      await writer.close();
    } catch (error) {
      createLogger({ write: writeLine }).error(`Cannot write to splunkd: ${(error as Error).message}`, { error_kind: 'output' });
      exitCode = 1;
    }
  }
  return exitCode;
}

/**
 * Whether splunkd started this process for all of the scheme's stanzas (single-instance), not for
 * one of them: between turning the resident setting on and restarting splunkd, splunkd still runs
 * one process per stanza, and each must poll once and exit, not stay up. A per-stanza run holds one
 * stanza; so does a single-instance run when only one is enabled, which the listing tells apart.
 * When splunkd cannot be asked, staying up is what loses nothing.
 */
async function singleInstanceRun(config: RunConfig, rest: SplunkRest, scheme: string): Promise<boolean> {
  if (config.stanzas.length > 1) return true;
  try {
    return (await rest.inputStanzas(scheme)).size <= 1;
  } catch {
    return true;
  }
}

/** One poll of one stanza, in either mode. */
export interface StanzaPoll {
  program: InputProgram | StreamingProgram;
  config: RunConfig;
  stanza: StanzaConfig;
  rest: SplunkRest;
  writer: EventWriter;
  writeLine: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Already read for this poll; read again when undefined. */
  settings?: Settings;
  /** The resident collector's: sessions kept between polls, fields of its lines, the poll's share of the process's cost. */
  resident?: {
    sessions: SessionSource;
    fields: Record<string, string>;
    cost: () => { cpu_ms: number; max_rss_mb: number };
  };
}

/** Where a poll gets its account session: opened for it (and closed after), or kept by the resident collector. */
export interface SessionSource {
  open(rest: SplunkRest, name: string, settings: Settings, logger: Logger, options: AccountSessionOptions): Promise<{ session: AccountSession; release: () => Promise<void> }>;
}

const openForOnePoll: SessionSource = {
  async open(rest, name, settings, logger, options) {
    const session = await openAccountSession(rest, name, settings, logger, options);
    return { session, release: () => session.http.close() };
  },
};

export type PollOutcome = 'success' | 'failure' | 'skipped';

/** Polls one stanza once and logs its summary line; never throws. */
export async function pollStanza(run: StanzaPoll): Promise<PollOutcome> {
  const { program, config, stanza } = run;
  const started = Date.now();
  const sessions = run.resident?.sessions ?? openForOnePoll;
  const cost = run.resident?.cost ?? processCost;
  // Every line names the input and its scheme; the account and tenant join once they are known.
  // interval lets the "has not polled for 3 intervals" alert judge each input by its own schedule.
  const base = { input: stanza.stanza, scheme: stanza.stanza.split('://')[0], interval: stanza.params.interval?.trim() || undefined, ...run.resident?.fields };
  let logger: Logger = createLogger({ write: run.writeLine, level: run.settings?.logLevel }, base);
  let session: AccountSession | undefined;
  let release: (() => Promise<void>) | undefined;
  let before: Record<string, number> = {};
  try {
    const problem = validateParams(program.definition, stanza.params);
    if (problem) throw new ConfigError(problem);
    const settings = run.settings ?? (await loadSettings(run.rest));
    logger = createLogger({ write: run.writeLine, level: settings.logLevel }, base);
    redactSecret(settings.proxy?.password);
    const context = { stanza: stanza.stanza, params: stanza.params, checkpointDir: config.checkpointDir, settings, writer: run.writer, nowMs: started };
    let summary: PollSummary;
    const name = stanza.params.account?.trim();
    if (isStreaming(program)) {
      if (name) ({ session, release } = await sessions.open(run.rest, name, settings, logger, { tagLogger: true }));
      if (session) logger = logger.child({ account: session.account.name, tenant: session.account.tenantId });
      before = counters(session);
      summary = await program.collect({ ...context, logger, rest: run.rest, session });
    } else {
      // Tokens kept between polls (tokenCache.ts): these inputs' calls all go through GraphClient,
      // which refreshes past a kept token an API rejects. Not the streaming inputs (the Azure SDKs'
      // calls would not).
      ({ session, release } = await sessions.open(run.rest, name ?? '', settings, logger, { unsupported: program.unsupported, tagLogger: true, tokenCache: tokenCacheDir(run.env) }));
      logger = logger.child({ account: session.account.name, tenant: session.account.tenantId });
      before = counters(session);
      summary = await program.poll({ ...context, logger, ...session });
    }
    logger.info('Poll finished', { outcome: 'success', ...summary, ...since(before, session), duration_ms: Date.now() - started, ...cost() });
    return 'success';
  } catch (error) {
    if (error instanceof LockHeldError) {
      logger.warn(error.message, { outcome: 'skipped', owner_pid: error.pid });
      return 'skipped';
    }
    const err = error as Error;
    logger.error(`Poll failed: ${err.message}`, {
      outcome: 'failure',
      error: err.name,
      error_kind: errorKind(err),
      ...since(before, session),
      duration_ms: Date.now() - started,
      ...cost(),
    });
    return 'failure';
  } finally {
    await release?.();
  }
}

/** The HTTP and token counters of a session, which the resident collector keeps across polls. */
function counters(session: AccountSession | undefined): Record<string, number> {
  return session ? { ...session.http.stats, ...session.tokens.stats } : {};
}

/** What the counters moved during this poll (all of them for a session opened for it). */
function since(before: Record<string, number>, session: AccountSession | undefined): Record<string, number> {
  const now = counters(session);
  return Object.fromEntries(Object.entries(now).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}

/**
 * What the poll's process has cost so far, all its threads (the page worker too) and its start-up
 * included: CPU time and peak resident memory, for the health dashboard's cost per input.
 */
export function processCost(): { cpu_ms: number; max_rss_mb: number } {
  const usage = process.resourceUsage();
  return { cpu_ms: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000), max_rss_mb: Math.round(peakRssKb(usage.maxRSS) / 102.4) / 10 };
}

/**
 * This program's peak RSS in KB. On Linux, from /proc (VmHWM): getrusage's maxRSS also keeps the
 * peak of the process before it exec'd Node, which is a fork of splunkd and counts splunkd's own
 * memory (measured: a quiet poll started by a 180 MB parent read 180 MB, against 69 MB in VmHWM).
 */
function peakRssKb(maxRss: number): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux
  }
  return maxRss;
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => out.write(text, (error) => (error ? reject(error) : resolve())));
}

/** Runs the program as the process. */
/** Runs the program; settles once the exit code is set and stdout is flushed. */
export function main(program: Program): Promise<void> {
  const run = runInput(program);
  exitWhenDone(run);
  return run.then(
    () => undefined,
    () => undefined,
  );
}
