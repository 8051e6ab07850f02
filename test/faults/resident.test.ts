/**
 * The fault campaign for the resident collector (`[collection] resident = 1`, issue 19): the same
 * seeded faults as campaign.test.ts (throttling, 5xx, resets, truncated bodies, timeouts, expiring
 * tokens, items updated while paged), against ONE long-running process holding several stanzas of
 * a scheme (one run XML, as splunkd gives a single-instance input), polled every 1-2 s, and that
 * process killed with kill -9 or stopped with SIGTERM at random moments and started again, as
 * splunkd does on a crash, a configuration change or a restart. Then a clean final phase: every
 * stanza polls until quiet, then SIGTERM.
 *
 * Asserted per stanza: every item version the simulator holds was emitted, duplicates only from
 * kills (at most one page per kill), the checkpoint never moved backwards; every SIGTERM exits 0
 * with the stream closed; a stanza whose account has a wrong secret fails at every poll while the
 * others get everything. And once per campaign: one account's connections held open (its tenant's
 * requests never answered) while the other stanzas keep polling; released, it catches up. And a
 * secret changed while the collector runs is used from the next poll, without a restart.
 *
 * Each round runs the Graph alerts input with three stanzas over two accounts (every third round
 * the Defender for Endpoint alerts input with two), plus the broken stanza. FAULT_RUNS (default 4)
 * is the number of rounds, FAULT_SEED (default 1) the seed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { checkpointFileName } from '../../src/splunk/checkpoint.js';
import { APP, parseStream, provisionAccount, runConfigXmlMany, runInputProcess, SECRET_CANARY, startStandIns, type RunResult, type StandIns } from '../../tools/harness.js';
import { campaignSeed, rng } from '../helpers/faultSchedule.js';
import { churnWhilePaged, coverage, POLL_SCHEMES, pollTargets, queueFaults, type Target } from '../helpers/pollCampaign.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 4);
const SEED = campaignSeed(1);
/** What the contract gives in-flight polls after SIGTERM (10 s), plus start-up and slack. */
const SIGTERM_EXIT_MS = 20_000;
/** About what one item's event takes on stdout (a backlog's output, to kill within it). */
const EVENT_BYTES = 4500;
const SETTINGS = { reread_window: '300', request_timeout: '2', max_retries: '8', resident: '1' };

let s: StandIns;
before(async () => {
  s = await startStandIns();
  provisionAccount(s, 'prod');
  provisionAccount(s, 'prod2');
  // The app's secret is right, this one is not: every poll of its stanzas fails at the token endpoint.
  provisionAccount(s, 'broken', {}, `${SECRET_CANARY}not-the-secret`);
  // Short timeouts and retry budget so "slower than the timeout" is cheap to provoke; resident on.
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', SETTINGS);
  // data/inputs/<scheme>, which the collector lists again every 60 s: the same stanzas as the run XML.
  for (const scheme of POLL_SCHEMES) s.splunkd.registerModularInput({ scheme, args: [] });
});
after(async () => {
  // A round that failed half-way leaves its process up: it would keep this test process alive.
  for (const r of residents) if (!r.exited) r.child.kill('SIGKILL');
  await s?.stop();
});

const totals = { rounds: 0, stanzas: 0, processes: 0, kills: 0, sigterms: 0, faultsFired: 0, items: 0, missing: 0, duplicates: 0, brokenPolls: 0 };

interface Stanza {
  stanza: string;
  params: Record<string, string>;
}

/** One resident process as splunkd runs it: stdout read as it comes, stderr split into lines with their arrival time. */
interface Resident {
  child: ChildProcess;
  stdout(): string;
  lines: { at: number; line: string }[];
  done: Promise<RunResult>;
  exited: boolean;
}

const residents: Resident[] = [];

function startResident(scheme: string, xml: string, env?: Record<string, string>): Resident {
  let child: ChildProcess | undefined;
  let out = '';
  let partial = '';
  const lines: Resident['lines'] = [];
  const done = runInputProcess(scheme, [], xml, {
    env,
    onSpawn: (c) => {
      child = c;
      c.stdout!.on('data', (chunk: Buffer | string) => (out += String(chunk)));
      c.stderr!.on('data', (chunk: Buffer | string) => {
        const parts = (partial + String(chunk)).split('\n');
        partial = parts.pop()!;
        for (const line of parts) lines.push({ at: performance.now(), line });
      });
    },
  });
  totals.processes++;
  const resident: Resident = { child: child!, stdout: () => out, lines, done, exited: false };
  residents.push(resident);
  void done.then(() => (resident.exited = true));
  return resident;
}

interface PollLine {
  /** When the line arrived (performance.now()); the poll began `durationMs` before. */
  at: number;
  stanza: string;
  ok: boolean;
  emitted: number;
  durationMs: number;
}

/** The `Poll finished` / `Poll failed` lines so far, by stanza. */
function pollLines(r: Resident): PollLine[] {
  const polls: PollLine[] = [];
  for (const { at, line } of r.lines) {
    const m = /^(INFO Poll finished|ERROR Poll failed)\b/.exec(line);
    if (!m) continue;
    const stanza = /\binput=(?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(line);
    if (!stanza) continue;
    polls.push({ at, stanza: stanza[1] ?? stanza[2]!, ok: m[1]!.startsWith('INFO'), emitted: Number(/\bemitted=(\d+)/.exec(line)?.[1] ?? 0), durationMs: Number(/\bduration_ms=(\d+)/.exec(line)?.[1] ?? 0) });
  }
  return polls;
}

/** Waits for `ready`, checked every 100 ms; fails with `what` (and the process's last lines) after `ms`. */
async function until(r: Resident, ready: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!ready()) {
    if (r.exited) assert.fail(`the resident process exited while waiting for ${what}:\n${lastLines(r)}`);
    if (performance.now() > deadline) assert.fail(`${what}: not within ${ms} ms:\n${lastLines(r)}`);
    await sleep(100);
  }
}

const lastLines = (r: Resident): string => r.lines.slice(-15).map((l) => l.line).join('\n');

/** SIGTERM, as splunkd on a configuration change or shutdown: exit 0 within the contract's 10 s, the stream closed. */
async function stop(r: Resident): Promise<RunResult> {
  r.child.kill('SIGTERM');
  totals.sigterms++;
  const watchdog = setTimeout(() => r.child.kill('SIGKILL'), SIGTERM_EXIT_MS);
  const result = await r.done;
  clearTimeout(watchdog);
  assert.equal(result.signal, null, `SIGTERM: not exited within ${SIGTERM_EXIT_MS} ms (killed)\n${lastLines(r)}`);
  assert.equal(result.code, 0, `SIGTERM: exit code ${result.code}\n${result.stderr.split('\n').filter((l) => l.startsWith('ERROR')).slice(-5).join('\n')}`);
  assert.match(result.stdout, /<\/stream>\s*$/, 'SIGTERM: the stream was not closed');
  return result;
}

async function kill9(r: Resident): Promise<RunResult> {
  r.child.kill('SIGKILL');
  totals.kills++;
  return r.done;
}

/** The stanzas' checkpoints' high-water marks, appended to `marks` when they changed. */
function sampleMarks(cp: string, stanzas: Stanza[], marks: Map<string, string[]>): void {
  for (const { stanza } of stanzas) {
    let mark: string;
    try {
      mark = JSON.parse(readFileSync(path.join(cp, checkpointFileName(stanza)), 'utf8')).highWaterMark;
    } catch {
      continue; // not written yet (it is replaced by a rename, never seen half-written)
    }
    const seen = marks.get(stanza) ?? [];
    if (seen.at(-1) !== mark) seen.push(mark);
    marks.set(stanza, seen);
  }
}

/** Events by stanza, as `id@version`. */
function collect(target: Target, stdout: string, complete: boolean, emitted: Map<string, string[]>): void {
  for (const e of parseStream(stdout, { complete })) {
    const list = emitted.get(e.stanza) ?? [];
    list.push(target.versionOf(JSON.parse(e.data)));
    emitted.set(e.stanza, list);
  }
}

/** The run XML, and the same stanzas in inputs.conf for the collector's own listing. */
function configure(stanzas: Stanza[], cp: string): string {
  for (const { stanza, params } of stanzas) s.splunkd.setConfStanza(APP, 'inputs', stanza, params);
  return runConfigXmlMany(s, stanzas, cp);
}

/** Disables a round's stanzas once it is over, so that no later process's listing starts them. */
function retire(stanzas: Stanza[]): void {
  for (const { stanza, params } of stanzas) s.splunkd.setConfStanza(APP, 'inputs', stanza, { ...params, disabled: '1' });
}

/** Final phase: every good stanza polls at least twice and its last poll finds nothing new; the broken one fails twice. */
async function pollUntilQuiet(r: Resident, good: string[], broken: string[]): Promise<void> {
  await until(
    r,
    () => {
      const polls = pollLines(r);
      const quiet = good.every((stanza) => {
        const own = polls.filter((p) => p.stanza === stanza);
        return own.length >= 2 && own.at(-1)!.ok && own.at(-1)!.emitted === 0;
      });
      return quiet && broken.every((stanza) => polls.filter((p) => p.stanza === stanza).length >= 2);
    },
    60_000,
    'every stanza quiet',
  );
}

// Rounds: the Graph alerts input, every third the Defender for Endpoint alerts input.
const plan = Array.from({ length: RUNS }, (_, round) => ({ round, which: round % 3 === 2 ? 1 : 0 }));

for (const { round, which } of plan) {
  const seed = SEED + round + 1000 * which;
  test(`resident round ${round + 1} (seed ${seed}), ${POLL_SCHEMES[which]}`, async () => {
    const target = pollTargets(s)[which];
    const random = rng(seed);
    target.reset();
    s.graph.faults.length = 0;
    const size = 600 + Math.floor(random() * 1400);
    const created = [...target.add(size)];
    const cp = mkdtempSync(path.join(s.workDir, 'resident-'));
    const params = (account: string) => ({
      account,
      start_date: new Date(Date.now() - 86_400_000).toISOString(),
      // Graph: 1 s. Defender for Endpoint: 2 s, two stanzas, to stay within one app's 100 calls a minute.
      interval: which === 0 ? '1' : '2',
    });
    const accounts = which === 0 ? ['prod', 'prod2', 'prod'] : ['prod', 'prod2'];
    const good: Stanza[] = accounts.map((account, i) => ({ stanza: `${target.scheme}://r${round}_${i}`, params: params(account) }));
    const brokenStanza: Stanza = { stanza: `${target.scheme}://r${round}_broken`, params: params('broken') };
    const stanzas = [...good, brokenStanza];
    const xml = configure(stanzas, cp);
    // splunkd's SPLUNK_HOME on even rounds: tokens kept (encrypted) between this round's processes.
    const env = round % 2 === 0 ? { SPLUNK_HOME: mkdtempSync(path.join(s.workDir, 'home-')) } : undefined;
    const emitted = new Map<string, string[]>();
    const marks = new Map<string, string[]>();
    const polls: PollLine[] = [];
    let kills = 0;
    /** What happened, for the failure messages. */
    const story: string[] = [];

    const queued = queueFaults(s, target, random);
    churnWhilePaged(s, target, created, random);

    // 2 to 4 lives under faults, each ended by kill -9 (60%) or SIGTERM at a random moment: after a
    // random part of its backlog's output (mid-page; new items arrive before each life after the
    // first), or after a random time (also between polls).
    const lives = 2 + Math.floor(random() * 3);
    for (let life = 0; life < lives; life++) {
      const kill = random() < 0.6;
      const byBytes = random() < 0.5;
      const backlog = life === 0 ? size : 200 + Math.floor(random() * 600);
      if (life > 0) created.push(...target.add(backlog, true));
      const bytes = Math.floor(random() * good.length * backlog * EVENT_BYTES);
      const ms = 300 + Math.floor(random() * 3000);
      const r = startResident(target.scheme, xml, env);
      const sampler = setInterval(() => sampleMarks(cp, stanzas, marks), 200);
      try {
        // Time is counted from the first sign of life: a SIGTERM before Node.js has started is not the case under test.
        while (!r.exited && !r.stdout() && !r.lines.length) await sleep(10);
        const started = performance.now();
        // Bytes: at most 4 s (a threshold past the backlog's output is then reached by time).
        while (!r.exited && (byBytes ? r.stdout().length < bytes && performance.now() - started < 4000 : performance.now() - started < ms)) await sleep(byBytes ? 5 : 50);
        if (r.exited) {
          const result = await r.done;
          assert.fail(`the resident process exited by itself (code ${result.code})\n${lastLines(r)}`);
        }
        story.push(`life ${life + 1}: ${kill ? 'kill -9' : 'SIGTERM'} after ${Math.round(performance.now() - started)} ms${byBytes ? ` (at ${bytes} bytes)` : ''}, backlog ${backlog} items`);
        const result = kill ? await kill9(r) : await stop(r);
        if (kill) kills++;
        collect(target, result.stdout, !kill, emitted);
      } finally {
        clearInterval(sampler);
      }
      sampleMarks(cp, stanzas, marks);
      polls.push(...pollLines(r));
    }

    // The clean final phase: no more faults nor churn; every stanza polls until quiet, then SIGTERM.
    target.onListPage(undefined);
    const fired = queued - s.graph.faults.reduce((n, f) => n + f.times, 0);
    s.graph.faults.length = 0;
    const r = startResident(target.scheme, xml, env);
    const sampler = setInterval(() => sampleMarks(cp, stanzas, marks), 200);
    try {
      await pollUntilQuiet(r, good.map((g) => g.stanza), [brokenStanza.stanza]);
      collect(target, (await stop(r)).stdout, true, emitted);
    } finally {
      clearInterval(sampler);
    }
    sampleMarks(cp, stanzas, marks);
    polls.push(...pollLines(r));
    retire(stanzas);

    const held = target.held();
    totals.rounds++;
    totals.faultsFired += fired;
    for (const { stanza } of good) {
      const { missing, duplicates } = coverage(emitted.get(stanza) ?? [], held);
      totals.stanzas++;
      totals.items += held.length;
      totals.missing += missing.length;
      totals.duplicates += duplicates;
      assert.deepEqual(missing, [], `${stanza}: item versions never emitted; ${story.join('; ')}`);
      assert.ok(duplicates <= kills * target.page, `${stanza}: ${duplicates} duplicates from ${kills} kills; ${story.join('; ')}`);
      const seen = marks.get(stanza) ?? [];
      assert.ok(seen.length > 0, `${stanza}: no checkpoint`);
      assert.deepEqual(seen, [...seen].sort(), `${stanza}: the checkpoint moved backwards; ${story.join('; ')}`);
    }
    // One stanza's failure does not stop the others: it failed at every poll, in every process.
    const brokenPolls = polls.filter((p) => p.stanza === brokenStanza.stanza);
    totals.brokenPolls += brokenPolls.length;
    assert.equal(emitted.get(brokenStanza.stanza)?.length ?? 0, 0, 'the broken stanza emitted events');
    assert.ok(brokenPolls.length >= 2 && brokenPolls.every((p) => !p.ok), `the broken stanza: ${brokenPolls.length} polls, ${brokenPolls.filter((p) => p.ok).length} succeeded`);
  });
}

test('a stuck connection holds its own stanza only', async () => {
  const target = pollTargets(s)[0];
  target.reset();
  s.graph.faults.length = 0;
  target.add(400);
  // A second tenant (the same app registered there), every list request of which is never answered.
  const tenant = randomUUID();
  s.graph.apps.push({ ...s.graph.apps[0]!, tenantId: tenant });
  provisionAccount(s, 'stuck', { tenant_id: tenant });
  const hold = { match: target.path, tenant, fault: { kind: 'delay' as const, ms: 600_000 }, times: Number.MAX_SAFE_INTEGER };
  s.graph.faults.push(hold);
  // Fewer retries: a held poll then fails within seconds (request_timeout 2 s, 2 attempts), as it must, never holding its stanza forever.
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { ...SETTINGS, max_retries: '1' });
  const cp = mkdtempSync(path.join(s.workDir, 'stuck-'));
  const params = (account: string) => ({ account, start_date: new Date(Date.now() - 86_400_000).toISOString(), interval: '1' });
  const stanzas: Stanza[] = [
    { stanza: `${target.scheme}://held`, params: params('stuck') },
    { stanza: `${target.scheme}://free_0`, params: params('prod') },
    { stanza: `${target.scheme}://free_1`, params: params('prod2') },
  ];
  const [held, ...free] = stanzas.map((x) => x.stanza) as [string, ...string[]];
  const r = startResident(target.scheme, configure(stanzas, cp));
  try {
    // While held: the held stanza's poll ends (fails) and starts again; the others poll on, each at least 3 times, and get everything.
    await until(
      r,
      () => {
        const polls = pollLines(r);
        const heldPolls = polls.filter((p) => p.stanza === held);
        return heldPolls.length >= 2 && free.every((f) => polls.filter((p) => p.stanza === f && p.ok).length >= 3);
      },
      40_000,
      'the held stanza failing twice while the others poll',
    );
    const during = pollLines(r);
    assert.ok(during.filter((p) => p.stanza === held).every((p) => !p.ok), 'a held poll succeeded');
    // While the held stanza's first poll hung (it took at least a request timeout), the others went on polling.
    const heldPoll = during.find((p) => p.stanza === held)!;
    assert.ok(heldPoll.durationMs >= 2000, `the held poll ended after ${heldPoll.durationMs} ms, before its request timed out`);
    for (const f of free) {
      const meanwhile = during.filter((p) => p.stanza === f && p.ok && p.at > heldPoll.at - heldPoll.durationMs && p.at < heldPoll.at).length;
      assert.ok(meanwhile >= 2, `${f} finished ${meanwhile} polls while ${held}'s poll hung for ${heldPoll.durationMs} ms`);
    }
    // Released: the held stanza catches up, and everyone is quiet.
    hold.times = 0;
    await pollUntilQuiet(r, [held, ...free], []);
    const result = await stop(r);
    const emitted = new Map<string, string[]>();
    collect(target, result.stdout, true, emitted);
    for (const stanza of [held, ...free]) assert.deepEqual(coverage(emitted.get(stanza) ?? [], target.held()).missing, [], `${stanza}: item versions never emitted`);
  } finally {
    hold.times = 0;
    if (!r.exited) r.child.kill('SIGKILL');
    s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', SETTINGS);
    retire(stanzas);
  }
});

test('a secret changed while resident is used from the next poll, without a restart', async () => {
  const target = pollTargets(s)[0];
  target.reset();
  s.graph.faults.length = 0;
  target.add(300);
  // One account that works, one whose stored secret is wrong; then the app's secret is rotated and
  // both stored secrets set to the new one, and every token issued so far expires.
  provisionAccount(s, 'rotated');
  provisionAccount(s, 'fixed', {}, `${SECRET_CANARY}not-the-secret-yet`);
  const cp = mkdtempSync(path.join(s.workDir, 'secret-'));
  const params = (account: string) => ({ account, start_date: new Date(Date.now() - 86_400_000).toISOString(), interval: '1' });
  const stanzas: Stanza[] = [
    { stanza: `${target.scheme}://rotated`, params: params('rotated') },
    { stanza: `${target.scheme}://fixed`, params: params('fixed') },
  ];
  const [rotated, fixed] = stanzas.map((x) => x.stanza) as [string, string];
  const app = s.graph.apps[0]!;
  const r = startResident(target.scheme, configure(stanzas, cp));
  try {
    await until(r, () => pollLines(r).some((p) => p.stanza === rotated && p.ok) && pollLines(r).some((p) => p.stanza === fixed && !p.ok), 20_000, 'a first poll of each');
    const newSecret = `${SECRET_CANARY}rotated-${randomUUID()}`;
    app.clientSecret = newSecret;
    s.splunkd.setPassword(APP, APP, 'rotated', newSecret);
    s.splunkd.setPassword(APP, APP, 'fixed', newSecret);
    s.graph.expireTokens();
    const changed = performance.now();
    // Both poll successfully from a poll begun after the change, and catch up.
    await until(
      r,
      () => [rotated, fixed].every((stanza) => pollLines(r).some((p) => p.stanza === stanza && p.ok && p.at - p.durationMs > changed)),
      20_000,
      'both stanzas polling with the new secret',
    );
    await pollUntilQuiet(r, [rotated, fixed], []);
    const emitted = new Map<string, string[]>();
    collect(target, (await stop(r)).stdout, true, emitted);
    for (const stanza of [rotated, fixed]) assert.deepEqual(coverage(emitted.get(stanza) ?? [], target.held()).missing, [], `${stanza}: item versions never emitted`);
  } finally {
    if (!r.exited) r.child.kill('SIGKILL');
    app.clientSecret = s.clientSecret;
    retire(stanzas);
  }
});

test('resident campaign figures', () => {
  console.log(
    `resident fault campaign: rounds=${totals.rounds} stanzas=${totals.stanzas} processes=${totals.processes} kills=${totals.kills} sigterms=${totals.sigterms} faults_fired=${totals.faultsFired} items=${totals.items} missing=${totals.missing} duplicates=${totals.duplicates} broken_polls=${totals.brokenPolls}`,
  );
  assert.equal(totals.missing, 0);
});
