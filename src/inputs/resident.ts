import type { Settings } from '../config/settings.js';
import type { EventWriter } from '../splunk/eventWriter.js';
import { createLogger, type Logger } from '../splunk/log.js';
import { stanzaConfig, type RunConfig, type StanzaConfig } from '../splunk/modinput.js';
import { SplunkdError, type SplunkRest } from '../splunk/rest.js';
import { CpuShare, cpuMs, nextPollAt } from './residentSchedule.js';
import { ResidentSessions } from './residentSessions.js';
import { pollStanza, processCost, type InputProgram } from './runInput.js';

/** Polls running at once; the others wait their turn (most polls wait on the network, not the CPU). */
const RESIDENT_CONCURRENCY = 8;
/** How often the stanzas are listed again from splunkd, and the collector's own line written. */
const RELIST_MS = 60_000;
/** After SIGTERM, how long polls in flight get to finish before `</stream>` is written. */
const STOP_GRACE_MS = 10_000;
/** A poll running this long no longer holds one of the concurrent places (its stanza still waits for it). */
const STUCK_MS = 10 * 60_000;

export interface ResidentRun {
  program: InputProgram;
  config: RunConfig;
  rest: SplunkRest;
  writer: EventWriter;
  writeLine: (line: string) => void;
  env: NodeJS.ProcessEnv;
  settings: Settings;
}

interface Slot {
  stanza: StanzaConfig;
  /** Epoch ms of the next poll; undefined: none (a run-once stanza that ran, or one removed). */
  nextAt: number | undefined;
  running?: { startedMs: number; done: Promise<void> };
  removed: boolean;
}

/**
 * The resident collector (docs/resident.md): splunkd runs the scheme in single-instance mode, one
 * process for all its stanzas, and this process polls each of them on its own `interval`, each
 * poll exactly as a per-process poll (pollStanza: the same checkpoint, lock and log line), with the
 * account sessions kept warm between polls. Resolves with the exit code once stopped (SIGTERM).
 */
export async function runResident(run: ResidentRun): Promise<number> {
  return new ResidentCollector(run).collect();
}

class ResidentCollector {
  private readonly slots = new Map<string, Slot>();
  private readonly cpu = new CpuShare();
  private readonly sessions: ResidentSessions;
  private readonly logger: Logger;
  private readonly scheme: string;
  private stopping = false;
  private exitCode = 0;
  private wake: () => void = () => undefined;
  private counts = { polls: 0, failed: 0, cpuMs: cpuMs() };

  constructor(private readonly input: ResidentRun) {
    this.scheme = input.program.definition.scheme;
    this.logger = createLogger({ write: input.writeLine, level: input.settings.logLevel }, { scheme: this.scheme, mode: 'resident' });
    this.sessions = new ResidentSessions(this.logger);
    for (const stanza of input.config.stanzas) this.add(stanza);
  }

  async collect(): Promise<number> {
    const stop = (): void => {
      this.stopping = true;
      this.wake();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // splunkd gone (crashed, or killed without stopping its inputs): a collector left behind would
    // poll on beside the one the next splunkd starts. The launcher execs Node, so the parent is
    // splunkd; its stdout pipe breaking says the same where the parent cannot be watched.
    const parent = process.ppid;
    const orphaned = setInterval(() => {
      if (process.ppid === parent) return;
      this.logger.warn('splunkd, which started this collector, is gone: stopping', { parent_pid: parent });
      stop();
    }, 1000);
    const brokenPipe = (): void => {
      this.logger.warn('The event stream to splunkd broke: stopping');
      stop();
    };
    process.stdout.once('error', brokenPipe);
    const relist = setInterval(() => void this.relist(), RELIST_MS);
    const report = setInterval(() => this.report(), RELIST_MS);
    this.logger.info('Resident collector started', { stanzas: this.slots.size, concurrency: RESIDENT_CONCURRENCY });
    try {
      while (!this.stopping) {
        this.startDue();
        await this.sleep();
      }
    } finally {
      clearInterval(orphaned);
      clearInterval(relist);
      clearInterval(report);
      process.stdout.off('error', brokenPipe);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
    return this.stop();
  }

  /** Starts the stanzas whose time has come, longest waiting first, up to the concurrent places. */
  private startDue(): void {
    const now = Date.now();
    let busy = [...this.slots.values()].filter((s) => s.running && now - s.running.startedMs < STUCK_MS).length;
    const due = [...this.slots.values()].filter((s) => !s.running && !s.removed && s.nextAt !== undefined && s.nextAt <= now).sort((a, b) => a.nextAt! - b.nextAt!);
    for (const slot of due) {
      if (busy >= RESIDENT_CONCURRENCY) break;
      this.start(slot);
      busy++;
    }
  }

  private start(slot: Slot): void {
    const share = this.cpu.enter();
    let charged: number | undefined;
    const stanza = slot.stanza;
    const done = pollStanza({
      program: this.input.program,
      config: this.input.config,
      stanza,
      rest: this.input.rest,
      writer: this.input.writer.forStanza(stanza.stanza),
      writeLine: this.input.writeLine,
      env: this.input.env,
      resident: {
        sessions: this.sessions,
        fields: { mode: 'resident' },
        cost: () => ({ cpu_ms: (charged ??= this.cpu.leave(share)), max_rss_mb: processCost().max_rss_mb }),
      },
    }).then((outcome) => {
      charged ??= this.cpu.leave(share);
      this.counts.polls++;
      if (outcome === 'failure') this.counts.failed++;
      slot.running = undefined;
      slot.nextAt = slot.removed ? undefined : nextPollAt(slot.stanza.params.interval, Date.now());
      if (slot.removed) this.slots.delete(stanza.stanza);
      this.wake();
    });
    slot.running = { startedMs: Date.now(), done };
  }

  /** Until the next stanza is due, a poll ends or the process is told to stop; at most a second. */
  private async sleep(): Promise<void> {
    const now = Date.now();
    const next = Math.min(...[...this.slots.values()].filter((s) => !s.running && s.nextAt !== undefined).map((s) => s.nextAt!));
    const ms = Math.max(0, Math.min(1000, next - now));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private add(stanza: StanzaConfig): void {
    this.slots.set(stanza.stanza, { stanza, nextAt: nextPollAt(stanza.params.interval, undefined), removed: false });
  }

  /**
   * Adopts what splunkd holds now: stanzas added or enabled start, those removed or disabled stop
   * after their poll in flight, changed parameters apply from the next poll. splunkd also restarts
   * a single-instance script when its inputs change (docs/resident.md); this does not rely on it.
   */
  private async relist(): Promise<void> {
    let current: Map<string, Record<string, string>>;
    try {
      current = await this.input.rest.inputStanzas(this.scheme);
    } catch (error) {
      if (error instanceof SplunkdError && error.status === 401) {
        // The session key splunkd gave this process no longer works: a new process gets a new one.
        this.logger.error(`Stopping so that splunkd starts the collector again: ${error.message}`, { error_kind: 'splunkd' });
        this.exitCode = 1;
        this.stopping = true;
        this.wake();
      } else {
        this.logger.warn(`Cannot list the ${this.scheme} inputs; polling the ones known: ${(error as Error).message}`, { error_kind: 'splunkd' });
      }
      return;
    }
    for (const [name, params] of current) {
      const key = `${this.scheme}://${name}`;
      const slot = this.slots.get(key);
      if (!slot) {
        this.logger.info('Input added', { input: key });
        this.add(stanzaConfig(key, params));
      } else if (JSON.stringify(slot.stanza.params) !== JSON.stringify(params)) {
        slot.stanza = stanzaConfig(key, params);
      }
    }
    for (const [key, slot] of this.slots) {
      if (current.has(key.slice(this.scheme.length + 3))) continue;
      this.logger.info('Input removed or disabled', { input: key });
      slot.removed = true;
      if (!slot.running) this.slots.delete(key);
    }
    this.wake();
  }

  private report(): void {
    const now = cpuMs();
    const running = [...this.slots.values()].filter((s) => s.running).length;
    this.logger.info('Resident collector', {
      stanzas: this.slots.size,
      running,
      polls: this.counts.polls,
      failed: this.counts.failed,
      cpu_ms: Math.round(now - this.counts.cpuMs),
      max_rss_mb: processCost().max_rss_mb,
    });
    this.counts = { polls: 0, failed: 0, cpuMs: now };
  }

  /** Waits a little for the polls in flight, then ends the stream; what they had not flushed is not checkpointed. */
  private async stop(): Promise<number> {
    const inFlight = [...this.slots.values()].flatMap((s) => (s.running ? [s.running.done] : []));
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([Promise.all(inFlight).then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_GRACE_MS)))]);
    clearTimeout(timer);
    if (!settled) this.logger.warn(`Stopping with polls still running after ${STOP_GRACE_MS / 1000} s; their stanzas resume from their checkpoints`, { running: inFlight.length });
    try {
      await this.input.writer.close();
    } catch (error) {
      this.logger.error(`Cannot write to splunkd: ${(error as Error).message}`, { error_kind: 'output' });
      this.exitCode = 1;
    }
    await this.sessions.closeAll();
    this.logger.info('Resident collector stopped', { polls: this.counts.polls });
    // A poll still running holds sockets and timers: the process ends now that the stream is closed.
    if (!settled) setTimeout(() => process.exit(this.exitCode), 100).unref();
    return this.exitCode;
  }
}
