/**
 * The resident collector (issue 19, docs/resident.md) end to end: ONE process of the built alerts
 * input, started through its launcher as splunkd starts a single-instance script (every enabled
 * stanza of the scheme in the run XML on stdin, one checkpoint_dir), with `[collection] resident = 1`
 * in the splunkd stand-in and a 2 s interval (4 s for one stanza), keeps today's guarantees:
 * - every stanza polls at start and again `interval` after its poll ended, each event naming its
 *   own stanza (each stanza writes to its own index, so a mix-up shows);
 * - a new alert arrives once per stanza;
 * - a rotated secret is picked up (tokens expired with it, so the old secret would fail), a wrong
 *   secret fails that stanza's polls while another account's stanza goes on;
 * - configuration changes: tested both ways. The running process re-lists data/inputs/<scheme>
 *   every 60 s (the contract's figure; production code has no hook for tests, on purpose), so the
 *   first run lasts about 70 s, its other checks run while it waits: a disabled stanza stops, a new
 *   one starts. And through SIGTERM + a restart with the new stanza set, which is what splunkd does
 *   when inputs change (that splunkd does so is to be verified on a real Splunk, docs/resident.md);
 * - SIGTERM: exit 0 within 10 s, `</stream>` last, checkpoints saved, locks released; the restart
 *   resumes every stanza without a duplicate;
 * - kill -9 in the middle of a large backlog, then a restart: no alert is missing in any stanza.
 * First, `--scheme` (what splunkd asks at start-up, hence the restart) on a copy of the built app.
 * The tests run in order on the same stand-ins; each builds on the previous one.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { checkpointFileName } from '../../src/splunk/checkpoint.js';
import { alertsDefinition } from '../../src/sources/graph-alerts/definition.js';
import { APP, APP_DIR, parseStream, provisionAccount, runConfigXmlMany, SECRET_CANARY, type StreamEvent } from '../../tools/harness.js';
import { useStandIns } from '../helpers/standIns.js';

const SCHEME = 'defender_xdr_alerts';
const INTERVAL_S = 2;
/** Each stanza keeps its own interval: gamma's is longer. */
const intervalOf = (name: string) => (name === 'gamma' ? 2 * INTERVAL_S : INTERVAL_S);
const stanzaOf = (name: string) => `${SCHEME}://${name}`;
const indexOf = (name: string) => `idx_${name}`;

let cp: string;
/** The second registered app (its own tenant): account beta's, never touched by the secret checks. */
let beta: { tenantId: string; clientId: string; clientSecret: string };
let startDate: string;

const s = useStandIns({
  built: `${SCHEME}.js`,
  accounts: ['alpha'],
  setUp: (st) => {
    cp = mkdtempSync(path.join(st.workDir, 'cp-'));
    startDate = new Date(Date.now() - 3_600_000).toISOString();
    beta = { tenantId: randomUUID(), clientId: randomUUID(), clientSecret: `${SECRET_CANARY}${randomBytes(18).toString('base64url')}` };
    st.graph.apps.push({ ...beta, roles: ['SecurityAlert.Read.All'] });
    provisionAccount(st, 'beta', { tenant_id: beta.tenantId, client_id: beta.clientId }, beta.clientSecret);
    // The shipped [collection] keys, and the switch (setConfStanza replaces the stanza).
    st.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { reread_window: '300', request_timeout: '60', max_retries: '6', resident: '1' });
    // data/inputs/<scheme>, which the process lists again every 60 s, as splunkd serves it.
    st.splunkd.registerModularInput({ scheme: SCHEME, args: alertsDefinition.args.map((a) => ({ name: a.name, requiredOnCreate: a.required })) });
    for (const [name, account] of [['alpha', 'alpha'], ['beta', 'beta'], ['gamma', 'beta']] as const) setInput(st.splunkd, name, account);
  },
});

function params(name: string, account: string): Record<string, string> {
  return { account, index: indexOf(name), interval: String(intervalOf(name)), start_date: startDate };
}

function setInput(splunkd: typeof s.splunkd, name: string, account: string, extra: Record<string, string> = {}): void {
  splunkd.setConfStanza(APP, 'inputs', stanzaOf(name), { ...params(name, account), disabled: '0', ...extra });
}

function runXml(stanzas: [name: string, account: string][]): string {
  return runConfigXmlMany(s, stanzas.map(([name, account]) => ({ stanza: stanzaOf(name), params: params(name, account) })), cp);
}

interface Poll {
  at: number;
  stanza: string;
  outcome: 'success' | 'failure';
  durationMs: number;
  line: string;
}

/** A resident process: stdout parsed as it comes, stderr lines with the time they arrived. */
class Resident {
  readonly child: ChildProcessWithoutNullStreams;
  readonly startedAt = Date.now();
  readonly events: StreamEvent[] = [];
  readonly lines: { at: number; text: string }[] = [];
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stdout = '';
  private parsedTo = 0;
  private partialLine = '';
  private killWhen?: () => boolean;

  constructor(xml: string) {
    this.child = spawn(path.join(APP_DIR, 'bin', `${SCHEME}.sh`), [], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.parse();
      if (this.killWhen?.()) this.child.kill('SIGKILL');
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.partialLine + chunk).split('\n');
      this.partialLine = parts.pop()!;
      for (const text of parts) this.lines.push({ at: Date.now(), text });
    });
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        if (this.partialLine) this.lines.push({ at: Date.now(), text: this.partialLine });
        const log = process.env.TA_TEST_OUTPUT_LOG;
        if (log) appendFileSync(log, `${this.stdout}\n${this.stderr}\n`);
        resolve({ code, signal, at: Date.now() });
      });
    });
    this.child.stdin.end(xml);
    running.add(this);
    void this.closed.then(() => running.delete(this));
  }

  get stderr(): string {
    return this.lines.map((l) => l.text).join('\n');
  }

  /** Complete events only; the stream may be cut anywhere by a kill. */
  private parse(): void {
    const end = this.stdout.lastIndexOf('</event>');
    if (end < this.parsedTo) return;
    const chunk = this.stdout.slice(this.parsedTo, end + '</event>'.length).replace('<stream>', '');
    this.parsedTo = end + '</event>'.length;
    this.events.push(...parseStream(`<stream>${chunk}</stream>`));
  }

  /** SIGKILL as soon as `condition` holds, checked as each chunk of stdout arrives. */
  killAsSoonAs(condition: () => boolean): void {
    this.killWhen = condition;
  }

  eventsOf(name: string): StreamEvent[] {
    return this.events.filter((e) => e.stanza === stanzaOf(name));
  }

  /** The `Poll finished` / `Poll failed` lines of a stanza (all stanzas without a name). */
  polls(name?: string, since = 0): Poll[] {
    const polls: Poll[] = [];
    for (const { at, text } of this.lines) {
      if (at < since || !/^(INFO Poll finished|ERROR Poll failed:) /.test(text)) continue;
      const stanza = / input=(\S+)/.exec(text)?.[1] ?? '';
      if (name !== undefined && stanza !== stanzaOf(name)) continue;
      polls.push({ at, stanza, outcome: text.startsWith('INFO') ? 'success' : 'failure', durationMs: Number(/ duration_ms=(\d+)/.exec(text)?.[1] ?? NaN), line: text });
    }
    return polls;
  }

  /** Waits until `check` returns something other than undefined/false; fails with the log's tail. */
  async until<T>(what: string, check: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline || this.child.exitCode !== null || this.child.signalCode !== null) {
        assert.fail(`${what}: not within ${timeoutMs} ms (process ${this.child.exitCode ?? this.child.signalCode ?? 'running'}). stderr tail:\n${this.lines.slice(-15).map((l) => l.text).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The outcomes of a stanza's polls after `since`, the first one skipped: it may have started before. */
  outcomesAfter(name: string, since: number): Poll[] {
    return this.polls(name, since).slice(1);
  }
}

const running = new Set<Resident>();
after(() => {
  for (const r of running) r.child.kill('SIGKILL');
});

const key = (e: StreamEvent) => {
  const d = JSON.parse(e.data) as { id: string; lastUpdateDateTime: string };
  return `${d.id}@${d.lastUpdateDateTime}`;
};
const idOf = (e: StreamEvent) => (JSON.parse(e.data) as { id: string }).id;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function duplicates(events: StreamEvent[]): string[] {
  const seen = new Set<string>();
  return events.map(key).filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
}

/** The polling schemes the contract names as resident-capable; every other scheme stays one process per run. */
const RESIDENT_SCHEMES = ['defender_xdr_alerts', 'defender_xdr_incidents', 'defender_endpoint_alerts', 'defender_endpoint_machines', 'defender_endpoint_vulnerabilities', 'defender_xdr_hunting'];

test('--scheme asks splunkd for one process per input type once the app\'s local/ says resident = 1, for the polling inputs only', async () => {
  // A copy of the built app: its local/ is what --scheme reads (splunkd has no session to give it).
  const app = path.join(mkdtempSync(path.join(s.workDir, 'app-')), APP);
  cpSync(APP_DIR, app, { recursive: true });
  const spec = readFileSync(path.join(app, 'README', 'inputs.conf.spec'), 'utf8');
  const schemes = [...spec.matchAll(/^\[([A-Za-z0-9_]+):\/\/<name>\]/gm)].map((m) => m[1]!);
  assert.ok(RESIDENT_SCHEMES.every((x) => schemes.includes(x)) && schemes.length > RESIDENT_SCHEMES.length, schemes.join());
  const singleInstance = async (scheme: string) => {
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(path.join(app, 'bin', `${scheme}.sh`), ['--scheme'], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    assert.equal(r.code, 0, scheme);
    return String((new XMLParser().parse(r.stdout) as { scheme: { use_single_instance: unknown } }).scheme.use_single_instance);
  };
  // The stand-in's REST settings say resident = 1 already: --scheme must not go by them.
  for (const scheme of schemes) assert.equal(await singleInstance(scheme), 'false', `${scheme}, shipped default (resident = 0)`);
  mkdirSync(path.join(app, 'local'));
  writeFileSync(path.join(app, 'local', 'defender_xdr_settings.conf'), '[collection]\nresident = 1\n');
  for (const scheme of schemes) assert.equal(await singleInstance(scheme), String(RESIDENT_SCHEMES.includes(scheme)), `${scheme}, local/ resident = 1`);
});

let first: Resident;
let seeded: string[];
let changedConfigAt: number;
const allIds: string[] = [];
/** Every event of every run, per stanza name. */
const history = new Map<string, StreamEvent[]>();
function record(run: Resident, names: string[]): void {
  for (const name of names) history.set(name, [...(history.get(name) ?? []), ...run.eventsOf(name)]);
}

test('every stanza polls at start and again interval seconds after its poll ended, each event naming its own stanza', async () => {
  s.graph.alerts.clear();
  seeded = s.graph.addAlerts(30, { at: new Date(Date.now() - 60_000), spreadMs: 600_000 }).map((a) => a.id);
  allIds.push(...seeded);
  first = new Resident(runXml([['alpha', 'alpha'], ['beta', 'beta'], ['gamma', 'beta']]));
  const names = ['alpha', 'beta', 'gamma'];
  await first.until('three successful polls of every stanza', () => names.every((n) => first.polls(n).filter((p) => p.outcome === 'success').length >= 3), 60_000);
  assert.equal(first.child.exitCode, null, 'the process stays up between polls');

  for (const name of names) {
    const events = first.eventsOf(name);
    assert.deepEqual(new Set(events.map(idOf)), new Set(seeded), `${name}: every seeded alert`);
    assert.deepEqual(duplicates(events), [], `${name}: no alert twice`);
    assert.deepEqual([...new Set(events.map((e) => e.index))], [indexOf(name)], `${name}: its events carry its own stanza (and so its own index)`);
  }
  assert.deepEqual([...new Set(first.events.map((e) => e.stanza))].sort(), names.map(stanzaOf), 'no event without its stanza');

  for (const name of names) {
    const polls = first.polls(name);
    for (const p of polls) assert.match(p.line, / mode=resident( |$)/);
    // The next poll starts `interval` after the previous one ended (as splunkd counts it): its start
    // is estimated from its line's arrival and duration; 20% slack for a busy machine's pipes.
    for (let i = 1; i < polls.length; i++) {
      const gap = polls[i]!.at - polls[i]!.durationMs - polls[i - 1]!.at;
      assert.ok(gap >= intervalOf(name) * 1000 * 0.8, `${name}: poll ${i + 1} started ${gap} ms after poll ${i} ended (interval ${intervalOf(name)} s)`);
    }
  }
});

test('a new alert added mid-run arrives once in every stanza', async () => {
  const [added] = s.graph.addAlerts(1);
  allIds.push(added!.id);
  const since = Date.now();
  const names = ['alpha', 'beta', 'gamma'];
  await first.until('the new alert in every stanza', () => names.every((n) => first.eventsOf(n).some((e) => idOf(e) === added!.id)));
  // Two more polls of each stanza, which re-read the window that holds it.
  await first.until('two more polls of every stanza', () => names.every((n) => first.polls(n, since).length >= 3));
  for (const name of names) {
    assert.equal(first.eventsOf(name).filter((e) => idOf(e) === added!.id).length, 1, name);
    assert.deepEqual(duplicates(first.eventsOf(name)), [], name);
  }

  // The configuration change checked by the last test of this run (the process sees it at its
  // next listing of data/inputs, at most 60 s from now): gamma disabled, delta added.
  changedConfigAt = Date.now();
  setInput(s.splunkd, 'gamma', 'beta', { disabled: '1' });
  setInput(s.splunkd, 'delta', 'beta');
});

test('a rotated secret is picked up: later polls get a token with the new secret', async () => {
  const app = s.graph.apps.find((a) => a.clientId === s.clientId)!;
  const rotated = `${SECRET_CANARY}rotated-${randomBytes(12).toString('base64url')}`;
  const requestsBefore = s.graph.requests.length;
  // Entra ID and storage/passwords change together (same tick); every token issued so far is
  // refused from now on, so a poll with the old secret cannot succeed on a kept token either.
  app.clientSecret = rotated;
  s.splunkd.setPassword(APP, APP, 'alpha', rotated);
  s.graph.expireTokens();
  const since = Date.now();
  await first.until('two polls of alpha after the rotation', () => first.outcomesAfter('alpha', since).length >= 2);
  for (const p of first.outcomesAfter('alpha', since)) assert.equal(p.outcome, 'success', p.line);
  const tokens = s.graph.requests.slice(requestsBefore).filter((r) => r.path === `/${s.tenantId}/oauth2/v2.0/token`);
  assert.ok(tokens.some((r) => r.status === 200), `alpha's new token (token requests: ${tokens.map((r) => r.status).join()})`);
  await first.until('beta goes on after every token was expired', () => first.polls('beta', since).filter((p) => p.outcome === 'success').length >= 2);
});

test('a wrong secret fails that stanza\'s polls (Poll failed naming it) while another account\'s stanza keeps succeeding', async () => {
  const good = s.graph.apps.find((a) => a.clientId === s.clientId)!.clientSecret!;
  s.splunkd.setPassword(APP, APP, 'alpha', `${SECRET_CANARY}wrong-${randomBytes(12).toString('base64url')}`);
  const since = Date.now();
  const failed = await first.until('two failed polls of alpha', () => {
    const outcomes = first.outcomesAfter('alpha', since);
    return outcomes.length >= 2 && outcomes;
  });
  for (const p of failed) {
    assert.equal(p.outcome, 'failure', p.line);
    assert.match(p.line, new RegExp(`^ERROR Poll failed: .* input=${stanzaOf('alpha')} `));
  }
  const betaOk = first.polls('beta', failed[0]!.at).filter((p) => p.outcome === 'success');
  assert.ok(betaOk.length >= 1, 'beta polled successfully while alpha failed');
  assert.ok(first.polls('beta', since).every((p) => p.outcome === 'success'), 'no beta poll failed');
  assert.equal(first.child.exitCode, null, 'the process stays up');

  s.splunkd.setPassword(APP, APP, 'alpha', good);
  const restored = Date.now();
  const next = await first.until('a poll of alpha after the secret was restored', () => first.outcomesAfter('alpha', restored)[0]);
  assert.equal(next.outcome, 'success', next.line);
});

test('configuration change picked up without a restart (data/inputs listed again every 60 s): a disabled stanza stops, a new one starts', async () => {
  const deadline = changedConfigAt + 60_000 + 30_000 - Date.now();
  const delta = await first.until('a successful poll of the new stanza delta', () => first.polls('delta').find((p) => p.outcome === 'success'), Math.max(deadline, 5_000));
  await first.until('delta\'s events, with its own index', () => first.eventsOf('delta').length >= allIds.length);
  assert.deepEqual(new Set(first.eventsOf('delta').map(idOf)), new Set(allIds));
  assert.deepEqual([...new Set(first.eventsOf('delta').map((e) => e.index))], [indexOf('delta')]);
  // gamma stops after its current poll: at most one more line once delta has started.
  const gammaThen = first.polls('gamma').length;
  await sleep(3 * intervalOf('gamma') * 1000 + 1000);
  assert.ok(first.polls('gamma').length <= gammaThen + 1, `gamma polled ${first.polls('gamma').length - gammaThen} more times after it was disabled`);
  assert.ok(first.polls('delta', delta.at).length >= 2, 'delta polls again after its interval');

  const summary = await first.until('a Resident collector line', () => first.lines.find((l) => /^INFO Resident collector (?!started|stopped)/.test(l.text)), 70_000 - (Date.now() - first.startedAt) + 10_000);
  assert.match(summary.text, / stanzas=\d+ /);
  assert.match(summary.text, / polls=\d+/);
  assert.match(summary.text, / cpu_ms=\d+/);
  assert.match(summary.text, / max_rss_mb=[\d.]+/);
  assert.ok(Number(/ failed=(\d+)/.exec(summary.text)?.[1]) >= 2, `alpha's failures counted: ${summary.text}`);
});

test('SIGTERM with a poll in flight: the poll ends, then </stream>, exit 0 within 10 s; checkpoints saved, locks released', async () => {
  // One list request held 3 s by the simulator: SIGTERM comes while its poll is in flight.
  const hold = { match: /\/security\/alerts_v2/, fault: { kind: 'delay' as const, ms: 3000 }, times: 1 };
  s.graph.faults.push(hold);
  await first.until('a list request held by the simulator', () => hold.times === 0, 15_000);
  const signalled = Date.now();
  first.child.kill('SIGTERM');
  const { code, signal, at } = await first.closed;
  assert.equal(signal, null);
  assert.equal(code, 0, first.stderr.split('\n').slice(-10).join('\n'));
  assert.ok(at - signalled <= 10_000, `exited ${at - signalled} ms after SIGTERM`);
  assert.ok(at - signalled >= 2000, `exited ${at - signalled} ms after SIGTERM: it did not wait for the poll in flight`);
  const last = first.polls(undefined, signalled);
  assert.ok(last.length >= 1 && last.length <= 3, `${last.length} polls ended after SIGTERM (those in flight only)`);
  for (const p of last) assert.equal(p.outcome, 'success', p.line);
  assert.match(first.stdout, /<\/stream>\s*$/);
  const files = readdirSync(cp);
  for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
    const file = path.join(cp, checkpointFileName(stanzaOf(name)));
    assert.ok(existsSync(file), `${name}'s checkpoint (${files.join()})`);
    JSON.parse(readFileSync(file, 'utf8'));
  }
  assert.deepEqual(files.filter((f) => f.endsWith('.lock')), [], 'no lock left behind');
  assert.ok(!first.stdout.includes(SECRET_CANARY) && !first.stderr.includes(SECRET_CANARY), 'a secret or the session key in the output');
  record(first, ['alpha', 'beta', 'delta']);
});

let second: Resident;
const afterChange: [string, string][] = [['alpha', 'alpha'], ['beta', 'beta'], ['delta', 'beta']];

test('a restart (what splunkd does on a configuration change) resumes every stanza from its checkpoint, without duplicates', async () => {
  second = new Resident(runXml(afterChange));
  const added = s.graph.addAlerts(5).map((a) => a.id);
  allIds.push(...added);
  const since = Date.now();
  await second.until('the new alerts and two polls in every stanza', () =>
    afterChange.every(([n]) => added.every((id) => second.eventsOf(n).some((e) => idOf(e) === id)) && second.polls(n, since).filter((p) => p.outcome === 'success').length >= 2),
  );
  for (const [name] of afterChange) {
    assert.deepEqual(new Set(second.eventsOf(name).map(idOf)), new Set(added), `${name}: only what is new since the SIGTERM`);
    assert.deepEqual(duplicates([...history.get(name)!, ...second.eventsOf(name)]), [], name);
  }
  assert.equal(second.eventsOf('gamma').length, 0);
});

test('kill -9 in the middle of a backlog, then a restart: no alert is missing in any stanza', async (t) => {
  const backlog = s.graph.addAlerts(2500, { at: new Date(Date.now() - 30_000), spreadMs: 20_000 }).map((a) => a.id);
  allIds.push(...backlog);
  const inBacklog = new Set(backlog);
  // Killed in the middle of a stanza's second page (1000 alerts a page): its first page's
  // checkpoint is saved, the second page's events are partly out.
  second.killAsSoonAs(() => afterChange.some(([n]) => second.eventsOf(n).filter((e) => inBacklog.has(idOf(e))).length >= 1300));
  const { signal } = await second.closed;
  assert.equal(signal, 'SIGKILL');
  const cut = afterChange.map(([n]) => second.eventsOf(n).filter((e) => inBacklog.has(idOf(e))).length);
  assert.ok(cut.some((c) => c < backlog.length), `the kill came after the whole backlog (${cut.join()}): nothing was tested`);
  record(second, afterChange.map(([n]) => n));
  t.diagnostic(`killed with ${cut.join(', ')} of the ${backlog.length} backlog alerts out in ${afterChange.map(([n]) => n).join(', ')}`);

  const third = new Resident(runXml(afterChange));
  await third.until('every alert in every stanza, over both runs', () =>
    afterChange.every(([n]) => {
      const seen = new Set([...history.get(n)!, ...third.eventsOf(n)].map(idOf));
      return allIds.every((id) => seen.has(id));
    }), 120_000);
  await third.until('a successful poll of every stanza', () => afterChange.every(([n]) => third.polls(n).some((p) => p.outcome === 'success')));
  third.child.kill('SIGTERM');
  const { code } = await third.closed;
  assert.equal(code, 0, third.stderr.split('\n').slice(-10).join('\n'));
  assert.doesNotMatch(third.stderr, /already collecting this input/, 'a lock of the killed process was not taken over');
  for (const [name] of afterChange) {
    const all = [...history.get(name)!, ...third.eventsOf(name)];
    const seen = new Set(all.map(idOf));
    assert.deepEqual(allIds.filter((id) => !seen.has(id)), [], `${name}: alerts missing`);
    // At least once after a kill -9: the page whose checkpoint was not saved (1000 alerts) comes again; never more.
    assert.ok(duplicates(all).length <= 1000, `${name}: ${duplicates(all).length} repeats`);
    t.diagnostic(`${name}: ${duplicates(all).length} alerts came again after the kill`);
  }
  assert.ok(!third.stderr.includes(SECRET_CANARY) && !second.stderr.includes(SECRET_CANARY), 'a secret in the log');
});

// Between turning the setting on and restarting splunkd, splunkd still runs one process per input:
// with several inputs listed, such a run must poll once and exit, not stay up for its one input.
test('a one-stanza run while splunkd lists several inputs polls once and exits, though the setting is on', async () => {
  const xml = runConfigXmlMany(s, [{ stanza: stanzaOf('alpha'), params: params('alpha', 'alpha') }], mkdtempSync(path.join(s.workDir, 'cp-one-')));
  const one = new Resident(xml);
  const ended = await Promise.race([one.closed, sleep(30_000).then(() => undefined)]);
  if (!ended) one.child.kill('SIGKILL');
  assert.ok(ended, 'the per-stanza run stayed up');
  assert.equal(ended.code, 0, one.stderr);
  assert.equal(one.stderr.match(/Poll finished/g)?.length, 1, one.stderr);
  assert.doesNotMatch(one.stderr, /Resident collector|mode=resident/);
  assert.ok(one.events.length > 0 && one.events.every((e) => e.stanza === stanzaOf('alpha')));
});

// A collector outliving its splunkd would poll beside the one the next splunkd starts.
test('a collector whose splunkd died (kill -9) stops by itself, even at a log level that writes nothing', async () => {
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'logging', { loglevel: 'ERROR' });
  const orphanCp = mkdtempSync(path.join(s.workDir, 'cp-orphan-'));
  // Two stanzas: a single-instance run (a one-stanza run would poll once and exit while splunkd lists more).
  // From now: no backlog of the earlier tests' alerts to page through before the first checkpoint.
  const fresh = (name: string) => ({ ...params(name, 'beta'), start_date: new Date().toISOString() });
  const xml = runConfigXmlMany(s, [{ stanza: stanzaOf('orphan'), params: fresh('orphan') }, { stanza: stanzaOf('orphan2'), params: fresh('orphan2') }], orphanCp);
  // A stand-in splunkd: starts the launcher with pipes for stdin, stdout and stderr, reads nothing, says the pid.
  const fakeSplunkd = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(process.argv[1], [], { stdio: 'pipe' }); c.stdin.end(process.argv[2]); console.log(c.pid); setInterval(() => {}, 1000);`, path.join(APP_DIR, 'bin', `${SCHEME}.sh`), xml], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = Number(await new Promise<string>((resolve) => fakeSplunkd.stdout.once('data', (d) => resolve(String(d)))));
  const alive = () => existsSync(`/proc/${pid}`);
  try {
    // Polling: its checkpoint appears.
    for (const until = Date.now() + 20_000; !existsSync(path.join(orphanCp, checkpointFileName(stanzaOf('orphan')))) && Date.now() < until; ) await sleep(200);
    assert.ok(existsSync(path.join(orphanCp, checkpointFileName(stanzaOf('orphan')))), 'the collector never polled');
    fakeSplunkd.kill('SIGKILL');
    for (const until = Date.now() + 15_000; alive() && Date.now() < until; ) await sleep(200);
    assert.equal(alive(), false, 'the collector still runs 15 s after its splunkd died: with a new splunkd, two collectors would poll the same inputs');
  } finally {
    fakeSplunkd.kill('SIGKILL');
    if (alive()) process.kill(pid, 'SIGKILL');
    s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'logging', { loglevel: 'INFO' });
  }
});
