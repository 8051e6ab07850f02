/**
 * The benchmark's scale run (issue 19): many tenants and stanzas on one forwarder, with a trickle
 * of new alerts and incidents, run the way splunkd runs the inputs. Reports the CPU-seconds per
 * minute of the inputs' processes (rusage of each process tree, through python3's wait4), the peak
 * of their summed RSS (sampled from /proc: the sum counts the Node binary's shared pages once per
 * process, so the private part, RssAnon, is reported too), polls longer than the interval (or
 * still running at their next start), and checks that every stanza emitted every document exactly
 * once.
 *
 * BENCH_SCALE_TENANTS (200), BENCH_SCALE_STANZAS (200, alerts and incidents alternately),
 * BENCH_SCALE_INTERVAL_S (60), BENCH_SCALE_MINUTES (5) size it. BENCH_SCALE_MODE chooses how
 * splunkd runs the inputs:
 * - `per-process` (default): every stanza its own process at each interval, never started while its
 *   previous run is still going. BENCH_SCALE_SCHEDULE chooses when a stanza's next run starts:
 *   `end` (default) an interval after its previous run ended, which is how splunkd counts `interval`
 *   for a modular input (shared/reference/splunk.md; every stanza starts at once at splunkd's
 *   start, later rounds spread by how long each poll took), or `start`, an interval after its
 *   previous start, so the 200 polls start together every minute (the harder case).
 * - `resident`: `[collection] resident = 1`, so splunkd runs each scheme single-instance: one
 *   process per scheme, started once with every stanza of the scheme in its XML, which polls each
 *   stanza every interval itself (RESIDENT-CONTRACT.md), and is stopped with SIGTERM at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConf } from './conf.js';
import { APP, APP_DIR, parseStream, provisionAccount, ROOT, runConfigXml, runConfigXmlMany, SECRET_CANARY, startStandIns, type StandIns, type StreamEvent } from './harness.js';

const WAIT4 = `
import os, subprocess, sys, json
child = subprocess.Popen(sys.argv[1:], close_fds=True)
_, status, usage = os.wait4(child.pid, 0)
os.write(3, json.dumps({"cpuMs": (usage.ru_utime + usage.ru_stime) * 1000, "code": os.waitstatus_to_exitcode(status)}).encode())
`;

interface Poll {
  cpuMs: number;
  /** The exit code, or minus the signal that ended the process. */
  code: number;
  stdout: string;
  stderr: string;
}

interface Running {
  /** The python3 wrapper's pid; the input's process is its child (the launcher execs Node). */
  pid: number;
  done: Promise<Poll>;
}

/** Output handlers instead of collecting stdout and stderr (a resident process runs for minutes). */
interface Sink {
  stdout: (chunk: string) => void;
  stderr: (chunk: string) => void;
}

function startPoll(command: string, stdin: string, env: NodeJS.ProcessEnv, sink?: Sink): Running {
  const child = spawn('python3', ['-c', WAIT4, command], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env });
  let usage = '';
  let stdout = '';
  let stderr = '';
  child.stdio[3]!.on('data', (d: Buffer) => (usage += d.toString()));
  child.stdout!.setEncoding('utf8').on('data', sink?.stdout ?? ((d: string) => (stdout += d)));
  child.stderr!.setEncoding('utf8').on('data', sink?.stderr ?? ((d: string) => (stderr += d)));
  const done = new Promise<Poll>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve({ ...(JSON.parse(usage) as { cpuMs: number; code: number }), stdout, stderr });
      } catch {
        reject(new Error(`no rusage for a poll: ${stderr}`));
      }
    });
  });
  child.stdin!.end(stdin);
  return { pid: child.pid!, done };
}

/** The input processes under a wrapper (none once they are gone). */
function childrenOf(wrapperPid: number): number[] {
  try {
    return readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** RSS and RssAnon (KB) of the input process under a wrapper, 0 once it is gone. */
function rssOf(wrapperPid: number): { rss: number; anon: number } {
  let rss = 0;
  let anon = 0;
  for (const pid of childrenOf(wrapperPid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      anon += Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return { rss, anon };
}

/** Samples the summed RSS and RssAnon of the processes under the wrappers `pids()` names, every 250 ms, keeping the peak. */
function peakRss(pids: () => number[]): { peak: { rss: number; anon: number }; stop: () => void } {
  const sampled = { peak: { rss: 0, anon: 0 }, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    let rss = 0;
    let anon = 0;
    for (const pid of pids()) {
      const one = rssOf(pid);
      rss += one.rss;
      anon += one.anon;
    }
    if (rss > sampled.peak.rss) sampled.peak = { rss, anon };
  }, 250);
  return sampled;
}

let clockTicks: number | undefined;

/** CPU milliseconds (all threads) the input process under a wrapper has used so far, from /proc/<pid>/stat. */
function cpuMsOf(wrapperPid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  let ticks = 0;
  for (const pid of childrenOf(wrapperPid)) {
    try {
      // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return (ticks * 1000) / clockTicks;
}

/** Signals the input process under a wrapper (splunkd signals the process it started), if still there. */
function signal(wrapperPid: number, name: NodeJS.Signals): void {
  for (const pid of childrenOf(wrapperPid)) {
    try {
      process.kill(pid, name);
    } catch {
      // exited meanwhile
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type ScaleMode = 'per-process' | 'resident';

export interface ScaleOptions {
  tenants: number;
  stanzas: number;
  intervalMs: number;
  minutes: number;
  /** Milliseconds between two new alerts. */
  trickleMs?: number;
  /** Per-process mode: from what the interval counts, the previous run's end (splunkd) or its start. */
  schedule?: 'end' | 'start';
  /** How splunkd runs the inputs: a process per stanza and poll (default), or one resident process per scheme. */
  mode?: ScaleMode;
}

/** What only resident mode has. */
export interface ResidentFigures {
  /** CPU-seconds and seconds from the processes' start until every stanza's first poll ended (tokens, backfill). */
  startupCpuS: number;
  startupS: number;
  /** CPU-seconds per minute from the end of the first round until the trickle stopped. */
  steadyCpuSecondsPerMinute: number;
  /** Each process on SIGTERM: its exit code (minus the signal), milliseconds to exit, `</stream>` written, exited before being asked. */
  exits: { scheme: string; code: number; stopMs: number; streamClosed: boolean; early: boolean }[];
  /** Stanzas with no poll started after the trickle stopped (their last documents may be missing). */
  notPolledAfterTrickle: number;
  /** Periodic `Resident collector` lines seen (one a minute per process). */
  collectorLines: number;
  /** Events whose stanza attribute names no stanza of the run. */
  unknownStanzaEvents: number;
  /** The first WARN and ERROR lines (and stanzas seen added or removed), for a failed run's diagnosis. */
  problems: string[];
}

export interface ScaleFigures {
  mode: ScaleMode;
  polls: number;
  failedPolls: number;
  /** Polls of the stanza polled least often. */
  minPollsPerStanza: number;
  cpuSecondsPerMinute: number;
  peakRssMb: number;
  peakPrivateMb: number;
  /** Polls still running at their next start (`start`), or longer than the interval (`end`, resident). */
  overlapped: number;
  /** Stanzas that missed a document or emitted one twice. */
  notExactlyOnce: number;
  /** Per stanza that was not exactly once: documents missing, emitted twice, and unknown. */
  notExactlyOnceDetail: string[];
  documents: number;
  medianPollMs: number;
  maxPollMs: number;
  /** Token requests the polls made (SPLUNK_HOME is set: a stanza's account keeps its token between polls). */
  tokenRequests: number;
  /** Accounts the stanzas use, and pairs of scheme and account (a resident process keeps its own tokens). */
  accounts: number;
  schemeAccounts: number;
  resident?: ResidentFigures;
}

/** The benchmark's form: sized by BENCH_SCALE_*, with PASS/FAIL lines. */
export async function scaleRun(): Promise<[string, boolean][]> {
  const options = {
    tenants: Number(process.env.BENCH_SCALE_TENANTS ?? 200),
    stanzas: Number(process.env.BENCH_SCALE_STANZAS ?? 200),
    intervalMs: 1000 * Number(process.env.BENCH_SCALE_INTERVAL_S ?? 60),
    minutes: Number(process.env.BENCH_SCALE_MINUTES ?? 5),
    schedule: process.env.BENCH_SCALE_SCHEDULE === 'start' ? ('start' as const) : ('end' as const),
    mode: process.env.BENCH_SCALE_MODE === 'resident' ? ('resident' as const) : ('per-process' as const),
  };
  const f = await runAtScale(options);
  const cores = f.cpuSecondsPerMinute / 60;
  const resident = options.mode === 'resident';
  const schedule = resident ? 'end' : options.schedule;
  const overlapLabel = schedule === 'end' ? 'polls longer than the interval' : 'polls still running at their next start';
  const how = resident ? 'one resident process per scheme' : 'a process per poll';
  console.log(`\nscale run (${options.mode}): ${options.tenants} tenants, ${options.stanzas} stanzas (alerts and incidents), ${how}, interval ${options.intervalMs / 1000} s counted from each poll's ${schedule}, ${options.minutes} min, ${f.documents} documents trickled in`);
  console.log(`  polls ${f.polls} (${f.failedPolls} failed, at least ${f.minPollsPerStanza} per stanza), CPU ${f.cpuSecondsPerMinute.toFixed(1)} CPU-s per minute (${cores.toFixed(2)} core on average), ` +
    `peak summed RSS ${f.peakRssMb.toFixed(0)} MB (private ${f.peakPrivateMb.toFixed(0)} MB), ${overlapLabel} ${f.overlapped}, ` +
    `stanzas not exactly once ${f.notExactlyOnce}; poll wall time median ${f.medianPollMs} ms, max ${f.maxPollMs} ms; token requests ${f.tokenRequests} for ${f.polls} polls (${f.accounts} accounts, ${f.schemeAccounts} pairs of scheme and account)`);
  const r = f.resident;
  if (r) {
    console.log(`  resident: start-up (until every stanza's first poll ended) ${r.startupCpuS.toFixed(1)} CPU-s in ${r.startupS.toFixed(1)} s; after it ${r.steadyCpuSecondsPerMinute.toFixed(2)} CPU-s per minute ` +
      `(${(r.steadyCpuSecondsPerMinute / 60).toFixed(3)} core); 'Resident collector' lines ${r.collectorLines}; events of no stanza ${r.unknownStanzaEvents}; stanzas not polled after the trickle stopped ${r.notPolledAfterTrickle}`);
    console.log(`  on SIGTERM: ${r.exits.map((e) => `${e.scheme} ${e.early ? 'had already exited with' : 'exit'} ${e.code} in ${e.stopMs} ms${e.streamClosed ? ', </stream> written' : ', NO </stream>'}`).join('; ')}`);
    for (const line of r.problems) console.log(`  logged: ${line}`);
  }
  for (const line of f.notExactlyOnceDetail) console.log(`  not exactly once: ${line}`);
  const label = `scale run (${options.mode})`;
  const verdicts: [string, boolean][] = [
    [`${label}: every stanza emitted every document exactly once (${options.stanzas - f.notExactlyOnce}/${options.stanzas})`, f.notExactlyOnce === 0 && f.failedPolls === 0],
    [`${label}: no ${overlapLabel.replace('polls', 'poll')} (${f.overlapped})`, f.overlapped === 0],
  ];
  if (r) verdicts.push([`${label}: every process exited 0 on SIGTERM with </stream> written`, r.exits.every((e) => e.code === 0 && e.streamClosed && !e.early)]);
  verdicts.push([`${label}: under 0.5 core on average (${cores.toFixed(2)})`, cores < 0.5]);
  return verdicts;
}

interface Stanza {
  scheme: string;
  name: string;
  params: Record<string, string>;
  /** Document ids the stanza emitted, in order. */
  ids: string[];
  polls: number;
}

/** What a mode measured; the check of the documents is common. */
interface Measured {
  polls: number;
  failedPolls: number;
  cpuSecondsPerMinute: number;
  peak: { rss: number; anon: number };
  overlapped: number;
  /** duration_ms of every poll, sorted. */
  durations: number[];
  resident?: ResidentFigures;
}

/** Runs the stanzas as splunkd would in `mode` for `minutes`, then once more, and returns the figures. */
export async function runAtScale({ tenants, stanzas: stanzaCount, intervalMs, minutes, trickleMs = 3000, schedule = 'end', mode = 'per-process' }: ScaleOptions): Promise<ScaleFigures> {
  const s = await startStandIns();
  try {
    const splunkHome = path.join(s.workDir, 'splunk-home');
    mkdirSync(splunkHome, { recursive: true });
    const env = { ...process.env, SPLUNK_HOME: splunkHome };
    for (let i = 0; i < tenants; i++) {
      const app = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: `${SECRET_CANARY}${randomBytes(18).toString('base64url')}`, roles: ['SecurityAlert.Read.All', 'SecurityIncident.Read.All'] };
      s.graph.apps.push(app);
      provisionAccount(s, `tenant${i}`, { tenant_id: app.tenantId, client_id: app.clientId }, app.clientSecret);
    }
    const startDate = new Date(Date.now() - 1000).toISOString();
    const stanzas: Stanza[] = Array.from({ length: stanzaCount }, (_, i) => ({
      scheme: i % 2 === 0 ? 'defender_xdr_alerts' : 'defender_xdr_incidents',
      name: `scale${i}`,
      params: { account: `tenant${i % tenants}`, start_date: startDate, interval: String(intervalMs / 1000) },
      ids: [],
      polls: 0,
    }));
    // New documents arrive all along: an alert every few seconds, an incident (with one alert) less often.
    const trickle = setInterval(() => {
      s.graph.addAlerts(1, { at: new Date() });
      if (Math.random() < 0.3) s.graph.addIncidents(1, { alertsPerIncident: 1, at: new Date() });
    }, trickleMs);
    let m: Measured;
    try {
      const stopTrickle = () => clearInterval(trickle);
      m = mode === 'resident'
        ? await runResident(s, env, stanzas, { intervalMs, minutes, stopTrickle })
        : await runPerProcess(s, env, stanzas, { intervalMs, minutes, schedule, stopTrickle });
    } finally {
      clearInterval(trickle);
    }

    const alertIds = new Set([...s.graph.alerts.keys()]);
    const incidentIds = new Set([...s.graph.incidents.keys()]);
    let wrong = 0;
    const wrongDetail: string[] = [];
    for (const stanza of stanzas) {
      const expected = stanza.scheme === 'defender_xdr_alerts' ? alertIds : incidentIds;
      const seen = new Set(stanza.ids);
      const missing = [...expected].filter((id) => !seen.has(id)).length;
      const twice = stanza.ids.length - seen.size;
      const unknown = [...seen].filter((id) => !expected.has(id)).length;
      if (missing || twice || unknown) {
        wrong++;
        wrongDetail.push(`${stanza.name} (${stanza.scheme}): ${missing} missing, ${twice} twice, ${unknown} unknown`);
      }
    }
    return {
      mode,
      polls: m.polls,
      failedPolls: m.failedPolls,
      minPollsPerStanza: Math.min(...stanzas.map((st) => st.polls)),
      cpuSecondsPerMinute: m.cpuSecondsPerMinute,
      peakRssMb: m.peak.rss / 1024,
      peakPrivateMb: m.peak.anon / 1024,
      overlapped: m.overlapped,
      notExactlyOnce: wrong,
      notExactlyOnceDetail: wrongDetail,
      documents: alertIds.size + incidentIds.size,
      medianPollMs: m.durations[Math.floor(m.durations.length / 2)] ?? 0,
      maxPollMs: m.durations.at(-1) ?? 0,
      tokenRequests: s.graph.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length,
      accounts: new Set(stanzas.map((st) => st.params.account)).size,
      schemeAccounts: new Set(stanzas.map((st) => `${st.scheme} ${st.params.account}`)).size,
      resident: m.resident,
    };
  } finally {
    await s.stop();
  }
}

interface ModeOptions {
  intervalMs: number;
  minutes: number;
  stopTrickle: () => void;
}

/** splunkd's interval inputs: each stanza a process at each interval, then one more round after the trickle. */
async function runPerProcess(s: StandIns, env: NodeJS.ProcessEnv, stanzaList: Stanza[], { intervalMs, minutes, schedule, stopTrickle }: ModeOptions & { schedule: 'end' | 'start' }): Promise<Measured> {
  const stanzas = stanzaList.map((stanza) => ({
    stanza,
    config: runConfigXml(s, stanza.scheme, stanza.name, stanza.params, mkdtempSync(path.join(s.workDir, 'cp-'))),
    running: undefined as Running | undefined,
    /** A start is waiting for the running poll to end (splunkd never runs a stanza twice at once, nor queues two starts). */
    deferred: false,
    nextStart: 0,
  }));
  const polls: Poll[] = [];
  let overlapped = 0;
  let failed = 0;
  const started = Date.now();
  const endAt = started + minutes * 60_000;
  // Every poll in flight, so that the final round and the check wait for all of them.
  const inFlight = new Set<Promise<unknown>>();
  const settled = async () => {
    while (inFlight.size > 0 || stanzas.some((st) => st.deferred)) await Promise.all([...inFlight]);
  };
  const launch = (entry: (typeof stanzas)[number]) => {
    const run = startPoll(path.join(APP_DIR, 'bin', `${entry.stanza.scheme}.sh`), entry.config, env);
    entry.running = run;
    const tracked: Promise<unknown> = run.done.then((): void => void inFlight.delete(tracked));
    inFlight.add(tracked);
    void run.done.then((poll) => {
      polls.push(poll);
      entry.stanza.polls++;
      if (poll.code !== 0) failed++;
      for (const event of parseStream(poll.stdout)) entry.stanza.ids.push((JSON.parse(event.data) as { id: string }).id);
      entry.running = undefined;
      if (schedule === 'end') entry.nextStart = Date.now() + intervalMs;
    });
  };
  const sampler = peakRss(() => stanzas.flatMap((entry) => (entry.running ? [entry.running.pid] : [])));
  try {
    // Every stanza at its next start (see schedule); one still running then starts when it ends.
    while (Date.now() < endAt) {
      const now = Date.now();
      for (const entry of stanzas) {
        if (now < entry.nextStart) continue;
        if (entry.running) {
          overlapped++;
          entry.nextStart = now + intervalMs;
          if (!entry.deferred) {
            entry.deferred = true;
            void entry.running.done.then(() => {
              entry.deferred = false;
              launch(entry);
            });
          }
          continue;
        }
        // Counted from the start; with `end`, set again when the poll ends.
        entry.nextStart = schedule === 'end' ? Number.POSITIVE_INFINITY : now + intervalMs;
        launch(entry);
      }
      await sleep(200);
    }
    stopTrickle();
    await settled();
    await sleep(1000);
    // One more round after the trickle stopped, so that every document had its chance.
    const cpuBeforeDrain = polls.reduce((sum, p) => sum + p.cpuMs, 0);
    const elapsedMin = (Date.now() - started) / 60_000;
    for (const entry of stanzas) launch(entry);
    await settled();
    await sleep(100);
    const durations = polls.map((p) => Number(/duration_ms=(\d+)/.exec(p.stderr)?.[1] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
    return {
      polls: polls.length,
      failedPolls: failed,
      cpuSecondsPerMinute: cpuBeforeDrain / 1000 / elapsedMin,
      peak: sampler.peak,
      // Counted from the end, a poll cannot be running at its next start: one longer than the
      // interval is what would have been (and delays its stanza's next data).
      overlapped: schedule === 'end' ? durations.filter((ms) => ms > intervalMs).length : overlapped,
      durations,
    };
  } finally {
    sampler.stop();
  }
}

/** Reads a modular-input stream as it arrives: complete events are handed over, a cut one waits for its end. */
class StreamReader {
  private buffer = '';

  constructor(private readonly onEvent: (event: StreamEvent) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    const end = this.buffer.lastIndexOf('</event>');
    if (end < 0) return;
    const cut = end + '</event>'.length;
    const complete = this.buffer.slice(0, cut).replace(/^\s*<stream>/, '');
    this.buffer = this.buffer.slice(cut);
    for (const event of parseStream(`<stream>${complete}</stream>`)) this.onEvent(event);
  }

  /** The stream was closed: what is left after the last event is its end tag (or an empty stream). */
  get closed(): boolean {
    const rest = this.buffer.trim();
    return rest === '</stream>' || rest === '<stream></stream>';
  }
}

/** Splits a stream of text into lines. */
function lineReader(onLine: (line: string) => void): (chunk: string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) onLine(line);
  };
}

/** A `key=value` field of a log line (log.ts quotes a value with blanks, quotes or '=' as JSON). */
function logField(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^| )${key}=("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(line);
  if (!m) return undefined;
  return m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
}

/**
 * splunkd with `[collection] resident = 1`: each scheme single-instance, one process started with
 * every stanza of the scheme, which polls them itself. The trickle runs for `minutes`; then every
 * stanza must have a poll that started after it stopped, and the processes get SIGTERM.
 */
async function runResident(s: StandIns, env: NodeJS.ProcessEnv, stanzas: Stanza[], { intervalMs, minutes, stopTrickle }: ModeOptions): Promise<Measured> {
  // The switch, read through REST as any setting (the stanza is replaced whole: the shipped keys too).
  const shipped = parseConf(readFileSync(path.join(ROOT, 'default', 'defender_xdr_settings.conf'), 'utf8')).get('collection') ?? new Map<string, string>();
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { ...Object.fromEntries(shipped), resident: '1' });
  // The collector lists data/inputs/<scheme> to follow added and removed stanzas: splunkd has them
  // in inputs.conf, enabled (the schemes' shipped defaults say disabled).
  const schemes = [...new Set(stanzas.map((st) => st.scheme))];
  for (const scheme of schemes) s.splunkd.registerModularInput({ scheme, args: [] });
  for (const st of stanzas) s.splunkd.setConfStanza(APP, 'inputs', `${st.scheme}://${st.name}`, { ...st.params, disabled: '0' });

  const byStanza = new Map(stanzas.map((st) => [`${st.scheme}://${st.name}`, { stanza: st, lastStart: 0 }]));
  const durations: number[] = [];
  let polls = 0;
  let failed = 0;
  let collectorLines = 0;
  let unknownStanzaEvents = 0;
  const problems: string[] = [];
  const onLine = (line: string) => {
    const poll = /^\w+ Poll (finished|failed)\b/.exec(line);
    if (poll) {
      const entry = byStanza.get(logField(line, 'input') ?? '');
      const ms = Number(logField(line, 'duration_ms'));
      polls++;
      if (poll[1] === 'failed') failed++;
      if (Number.isFinite(ms)) durations.push(ms);
      if (entry) {
        entry.stanza.polls++;
        // When it started, as near as the line's arrival tells (late by the pipe, never early).
        entry.lastStart = Date.now() - (Number.isFinite(ms) ? ms : 0);
      }
    } else if (/^\w+ Resident collector \w+=/.test(line)) {
      // The periodic line (not its `started` and `stopped` ones).
      collectorLines++;
    }
    // Also a stanza the collector saw added or removed when it listed them again: none is, here.
    if ((/^(WARN|ERROR) /.test(line) || / Input (added|removed)\b/.test(line)) && problems.length < 10) problems.push(line);
  };

  const started = Date.now();
  const processes = schemes.map((scheme) => {
    const own = stanzas.filter((st) => st.scheme === scheme);
    // splunkd hands a single-instance input one checkpoint_dir for all its stanzas.
    const xml = runConfigXmlMany(s, own.map((st) => ({ stanza: `${st.scheme}://${st.name}`, params: st.params })), mkdtempSync(path.join(s.workDir, `cp-${scheme}-`)));
    const reader = new StreamReader((event) => {
      const entry = byStanza.get(event.stanza);
      if (entry) entry.stanza.ids.push((JSON.parse(event.data) as { id: string }).id);
      else unknownStanzaEvents++;
    });
    const run = startPoll(path.join(APP_DIR, 'bin', `${scheme}.sh`), xml, env, { stdout: (d) => reader.feed(d), stderr: lineReader(onLine) });
    let exited = false;
    void run.done.then(() => (exited = true), () => (exited = true));
    return { scheme, run, reader, exited: () => exited };
  });
  const allExited = () => processes.every((p) => p.exited());
  const cpuNow = () => processes.reduce((sum, p) => sum + cpuMsOf(p.run.pid), 0);

  const sampler = peakRss(() => processes.map((p) => p.run.pid));
  try {
    // Start-up: until every stanza's first poll ended (each account's token, the backfill).
    let startup: { at: number; cpuMs: number } | undefined;
    const endAt = started + minutes * 60_000;
    while (Date.now() < endAt && !allExited()) {
      if (!startup && stanzas.every((st) => st.polls > 0)) startup = { at: Date.now(), cpuMs: cpuNow() };
      await sleep(200);
    }
    stopTrickle();
    const stoppedAt = Date.now();
    const cpuAtStop = cpuNow();
    startup ??= { at: stoppedAt, cpuMs: cpuAtStop };
    // Every stanza polled once more, from a start after the trickle stopped (a second later, as
    // per-process mode waits, so that nothing added is newer than the poll).
    const repollDeadline = stoppedAt + 2 * intervalMs + 30_000;
    const notRepolled = () => [...byStanza.values()].filter((e) => e.lastStart < stoppedAt + 1000).length;
    while (notRepolled() > 0 && Date.now() < repollDeadline && !allExited()) await sleep(200);
    const notPolledAfterTrickle = notRepolled();

    // splunkd stops a single-instance input with SIGTERM; the contract: exit 0 within ~10 s, </stream> written.
    const exits = await Promise.all(processes.map(async (p) => {
      const early = p.exited();
      const asked = Date.now();
      signal(p.run.pid, 'SIGTERM');
      const killer = setTimeout(() => signal(p.run.pid, 'SIGKILL'), 15_000);
      const poll = await p.run.done.finally(() => clearTimeout(killer));
      return { scheme: p.scheme, code: poll.code, stopMs: Date.now() - asked, streamClosed: p.reader.closed, early, cpuMs: poll.cpuMs };
    }));
    const lifeMin = (Date.now() - started) / 60_000;
    const totalCpuMs = exits.reduce((sum, e) => sum + e.cpuMs, 0);
    durations.sort((a, b) => a - b);
    return {
      polls,
      failedPolls: failed,
      // Everything the processes used from their start to their exit, as wait4 counts it.
      cpuSecondsPerMinute: totalCpuMs / 1000 / lifeMin,
      peak: sampler.peak,
      overlapped: durations.filter((ms) => ms > intervalMs).length,
      durations,
      resident: {
        startupCpuS: startup.cpuMs / 1000,
        startupS: (startup.at - started) / 1000,
        steadyCpuSecondsPerMinute: stoppedAt > startup.at ? (cpuAtStop - startup.cpuMs) / 1000 / ((stoppedAt - startup.at) / 60_000) : 0,
        exits: exits.map((e) => ({ scheme: e.scheme, code: e.code, stopMs: e.stopMs, streamClosed: e.streamClosed, early: e.early })),
        notPolledAfterTrickle,
        collectorLines,
        unknownStanzaEvents,
        problems,
      },
    };
  } finally {
    sampler.stop();
    // A failure above must not leave a resident process behind.
    for (const p of processes) signal(p.run.pid, 'SIGKILL');
  }
}
