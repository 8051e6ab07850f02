/**
 * The benchmark's scale run (issue 19): many tenants and stanzas on one forwarder, run the way
 * splunkd runs interval inputs (every stanza started at each interval, not restarted while its
 * previous run is still going), with a trickle of new alerts and incidents. Reports the CPU-seconds
 * per minute of all polls (rusage of each process tree, through python3's wait4), the peak of
 * their summed RSS (sampled from /proc: the sum counts the Node binary's shared pages once per
 * process, so the private part, RssAnon, is reported too), the polls that were still running at
 * their next start, and checks that every stanza emitted every document exactly once.
 *
 * BENCH_SCALE_TENANTS (200), BENCH_SCALE_STANZAS (200, alerts and incidents alternately),
 * BENCH_SCALE_INTERVAL_S (60), BENCH_SCALE_MINUTES (5) size it. BENCH_SCALE_SCHEDULE chooses when a
 * stanza's next run starts: `end` (default) an interval after its previous run ended, which is how
 * splunkd counts `interval` for a modular input (shared/reference/splunk.md; every stanza starts
 * at once at splunkd's start, later rounds spread by how long each poll took), or `start`, an
 * interval after its previous start, so the 200 polls start together every minute (the harder case).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { APP_DIR, parseStream, provisionAccount, runConfigXml, SECRET_CANARY, startStandIns } from './harness.js';

const WAIT4 = `
import os, subprocess, sys, json
child = subprocess.Popen(sys.argv[1:], close_fds=True)
_, status, usage = os.wait4(child.pid, 0)
os.write(3, json.dumps({"cpuMs": (usage.ru_utime + usage.ru_stime) * 1000, "code": os.waitstatus_to_exitcode(status)}).encode())
`;

interface Poll {
  cpuMs: number;
  code: number;
  stdout: string;
  stderr: string;
}

interface Running {
  /** The python3 wrapper's pid; the input's process is its child. */
  pid: number;
  done: Promise<Poll>;
}

function startPoll(command: string, stdin: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn('python3', ['-c', WAIT4, command], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env });
  let usage = '';
  let stdout = '';
  let stderr = '';
  child.stdio[3]!.on('data', (d: Buffer) => (usage += d.toString()));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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

/** RSS and RssAnon (KB) of the input process under a wrapper, 0 once it is gone. */
function rssOf(wrapperPid: number): { rss: number; anon: number } {
  try {
    const children = readFileSync(`/proc/${wrapperPid}/task/${wrapperPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    let rss = 0;
    let anon = 0;
    for (const pid of children) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      anon += Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
    return { rss, anon };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ScaleOptions {
  tenants: number;
  stanzas: number;
  intervalMs: number;
  minutes: number;
  /** Milliseconds between two new alerts. */
  trickleMs?: number;
  /** From what the interval counts: the previous run's end (splunkd) or its start. */
  schedule?: 'end' | 'start';
}

export interface ScaleFigures {
  polls: number;
  failedPolls: number;
  cpuSecondsPerMinute: number;
  peakRssMb: number;
  peakPrivateMb: number;
  /** Polls still running at their next start (`start`), or longer than the interval (`end`). */
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
}

/** The benchmark's form: sized by BENCH_SCALE_*, with PASS/FAIL lines. */
export async function scaleRun(): Promise<[string, boolean][]> {
  const options = {
    tenants: Number(process.env.BENCH_SCALE_TENANTS ?? 200),
    stanzas: Number(process.env.BENCH_SCALE_STANZAS ?? 200),
    intervalMs: 1000 * Number(process.env.BENCH_SCALE_INTERVAL_S ?? 60),
    minutes: Number(process.env.BENCH_SCALE_MINUTES ?? 5),
    schedule: process.env.BENCH_SCALE_SCHEDULE === 'start' ? ('start' as const) : ('end' as const),
  };
  const f = await runAtScale(options);
  const cores = f.cpuSecondsPerMinute / 60;
  const overlapLabel = options.schedule === 'end' ? 'polls longer than the interval' : 'polls still running at their next start';
  console.log(`\nscale run: ${options.tenants} tenants, ${options.stanzas} stanzas (alerts and incidents), interval ${options.intervalMs / 1000} s counted from each poll's ${options.schedule}, ${options.minutes} min, ${f.documents} documents trickled in`);
  console.log(`  polls ${f.polls} (${f.failedPolls} failed), CPU ${f.cpuSecondsPerMinute.toFixed(1)} CPU-s per minute (${cores.toFixed(2)} core on average), ` +
    `peak summed RSS ${f.peakRssMb.toFixed(0)} MB (private ${f.peakPrivateMb.toFixed(0)} MB), ${overlapLabel} ${f.overlapped}, ` +
    `stanzas not exactly once ${f.notExactlyOnce}; poll wall time median ${f.medianPollMs} ms, max ${f.maxPollMs} ms; token requests ${f.tokenRequests} for ${f.polls} polls`);
  for (const line of f.notExactlyOnceDetail) console.log(`  not exactly once: ${line}`);
  return [
    [`scale run: every stanza emitted every document exactly once (${options.stanzas - f.notExactlyOnce}/${options.stanzas})`, f.notExactlyOnce === 0 && f.failedPolls === 0],
    [`scale run: no ${overlapLabel.replace('polls', 'poll')} (${f.overlapped})`, f.overlapped === 0],
    [`scale run: under 0.5 core on average (${cores.toFixed(2)})`, cores < 0.5],
  ];
}

/** Runs the stanzas on splunkd's schedule for `minutes`, then once more, and returns the figures. */
export async function runAtScale({ tenants, stanzas: stanzaCount, intervalMs, minutes, trickleMs = 3000, schedule = 'end' }: ScaleOptions): Promise<ScaleFigures> {
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
    const stanzas = Array.from({ length: stanzaCount }, (_, i) => {
      const scheme = i % 2 === 0 ? 'defender_xdr_alerts' : 'defender_xdr_incidents';
      const checkpointDir = mkdtempSync(path.join(s.workDir, 'cp-'));
      return {
        scheme,
        config: runConfigXml(s, scheme, `scale${i}`, { account: `tenant${i % tenants}`, start_date: startDate, interval: String(intervalMs / 1000) }, checkpointDir),
        ids: [] as string[],
        running: undefined as Running | undefined,
        /** A start is waiting for the running poll to end (splunkd never runs a stanza twice at once, nor queues two starts). */
        deferred: false,
        nextStart: 0,
      };
    });

    const polls: Poll[] = [];
    let overlapped = 0;
    let failed = 0;
    let peak = { rss: 0, anon: 0 };
    const started = Date.now();
    const endAt = started + minutes * 60_000;
    // Every poll in flight, so that the final round and the check wait for all of them.
    const inFlight = new Set<Promise<unknown>>();
    const settled = async () => {
      while (inFlight.size > 0 || stanzas.some((st) => st.deferred)) await Promise.all([...inFlight]);
    };
    const launch = (stanza: (typeof stanzas)[number]) => {
      const run = startPoll(path.join(APP_DIR, 'bin', `${stanza.scheme}.sh`), stanza.config, env);
      stanza.running = run;
      const tracked: Promise<unknown> = run.done.then((): void => void inFlight.delete(tracked));
      inFlight.add(tracked);
      void run.done.then((poll) => {
        polls.push(poll);
        if (poll.code !== 0) failed++;
        for (const event of parseStream(poll.stdout)) stanza.ids.push((JSON.parse(event.data) as { id: string }).id);
        stanza.running = undefined;
        if (schedule === 'end') stanza.nextStart = Date.now() + intervalMs;
      });
    };
    // New documents arrive all along: an alert every few seconds, an incident (with one alert) less often.
    const trickle = setInterval(() => {
      s.graph.addAlerts(1, { at: new Date() });
      if (Math.random() < 0.3) s.graph.addIncidents(1, { alertsPerIncident: 1, at: new Date() });
    }, trickleMs);
    const sampler = setInterval(() => {
      let rss = 0;
      let anon = 0;
      for (const stanza of stanzas) {
        if (!stanza.running) continue;
        const one = rssOf(stanza.running.pid);
        rss += one.rss;
        anon += one.anon;
      }
      if (rss > peak.rss) peak = { rss, anon };
    }, 250);
    try {
      // Every stanza at its next start (see schedule); one still running then starts when it ends.
      while (Date.now() < endAt) {
        const now = Date.now();
        for (const stanza of stanzas) {
          if (now < stanza.nextStart) continue;
          if (stanza.running) {
            overlapped++;
            stanza.nextStart = now + intervalMs;
            if (!stanza.deferred) {
              stanza.deferred = true;
              void stanza.running.done.then(() => {
                stanza.deferred = false;
                launch(stanza);
              });
            }
            continue;
          }
          // Counted from the start; with `end`, set again when the poll ends.
          stanza.nextStart = schedule === 'end' ? Number.POSITIVE_INFINITY : now + intervalMs;
          launch(stanza);
        }
        await sleep(200);
      }
      clearInterval(trickle);
      await settled();
      await sleep(1000);
      // One more round after the trickle stopped, so that every document had its chance.
      const cpuBeforeDrain = polls.reduce((sum, p) => sum + p.cpuMs, 0);
      const elapsedMin = (Date.now() - started) / 60_000;
      for (const stanza of stanzas) launch(stanza);
      await settled();
      await sleep(100);

      const alertIds = new Set([...s.graph.alerts.keys()]);
      const incidentIds = new Set([...s.graph.incidents.keys()]);
      let wrong = 0;
      const wrongDetail: string[] = [];
      for (const [i, stanza] of stanzas.entries()) {
        const expected = stanza.scheme === 'defender_xdr_alerts' ? alertIds : incidentIds;
        const seen = new Set(stanza.ids);
        const missing = [...expected].filter((id) => !seen.has(id)).length;
        const twice = stanza.ids.length - seen.size;
        const unknown = [...seen].filter((id) => !expected.has(id)).length;
        if (missing || twice || unknown) {
          wrong++;
          wrongDetail.push(`scale${i} (${stanza.scheme}): ${missing} missing, ${twice} twice, ${unknown} unknown`);
        }
      }
      const durations = polls.map((p) => Number(/duration_ms=(\d+)/.exec(p.stderr)?.[1] ?? NaN)).filter(Number.isFinite).sort((a, b) => a - b);
      return {
        polls: polls.length,
        failedPolls: failed,
        cpuSecondsPerMinute: cpuBeforeDrain / 1000 / elapsedMin,
        peakRssMb: peak.rss / 1024,
        peakPrivateMb: peak.anon / 1024,
        // Counted from the end, a poll cannot be running at its next start: one longer than the
        // interval is what would have been (and delays its stanza's next data).
        overlapped: schedule === 'end' ? durations.filter((ms) => ms > intervalMs).length : overlapped,
        notExactlyOnce: wrong,
        notExactlyOnceDetail: wrongDetail,
        documents: alertIds.size + incidentIds.size,
        medianPollMs: durations[Math.floor(durations.length / 2)] ?? 0,
        maxPollMs: durations.at(-1) ?? 0,
        tokenRequests: s.graph.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length,
      };
    } finally {
      clearInterval(trickle);
      clearInterval(sampler);
    }
  } finally {
    await s.stop();
  }
}
