/**
 * The fault campaign over the two Streaming API inputs (npm run test:faults): the built bundles,
 * started through their launchers as splunkd starts them, under a seeded random schedule of kill -9
 * (after a random amount of output, i.e. mid-batch; on a random write of the checkpoint's temp file,
 * i.e. mid-checkpoint; after a random time) and injected faults, while records keep arriving; then
 * clean runs until caught up. Asserted per round: every record arrived at least once, duplicates
 * stay within the batches in flight at each kill (for Event Hubs, plus what was emitted in the
 * second before it: its checkpoint file is written at most once a second), every run that was not killed exited by itself
 * (within run_seconds plus a small bound for Event Hubs), and a last run finds nothing new.
 *
 * - Storage Account input against Azurite, through an https fault proxy (test/helpers/httpsFaultProxy.ts):
 *   503 ServerBusy, connections reset, bodies cut short, answers slower than request_timeout; blobs grow
 *   between runs, sometimes ending in half a record.
 * - Event Hubs input against the Event Hubs stand-in (AMQP over WebSockets, real SDK in the bundle):
 *   server busy (at attach and on an open link), forced detach, dropped connection, slow deliveries;
 *   local checkpoint store. Plus one round with the blob checkpoint store on Azurite behind the
 *   fault proxy, its checkpoint and ownership writes failing at random (no kill there).
 *
 * The seed is printed with each round; FAULT_SEED=<seed> replays the schedule (where a kill lands
 * still depends on timing). FAULT_RUNS (default 4) sizes it: that many Storage Account rounds and
 * half as many Event Hubs rounds, plus the blob-store round. Results: docs/reliability.md.
 */
import assert from 'node:assert/strict';
import { watch, mkdtempSync, readFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ContainerSASPermissions } from '@azure/storage-blob';
import { CHUNK_BYTES } from '../../src/sources/streaming-blob/index.js';
import { APP, parseStream, runConfigXml, runInputProcess, startStandIns, type RunResult, type StandIns } from '../../tools/harness.js';
import { EventHubsStandIn, type Fault as HubFault, type SasPolicy } from '../../tools/simulator/eventHubs.js';
import { appendRaw, appendRecords, blobPath, newTenant, startAzurite, streamingRecord, type Azurite } from '../helpers/azurite.js';
import { campaignSeed, picker, rng } from '../helpers/faultSchedule.js';
import { HttpsFaultProxy, type StorageFault } from '../helpers/httpsFaultProxy.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 4);
const SEED = campaignSeed(1 + Math.floor(Math.random() * 1_000_000));
const BLOB = 'defender_xdr_streaming_blob';
const HUB_SCHEME = 'defender_xdr_streaming_eventhub';
/** Messages per batch in the Event Hubs input (MAX_BATCH in src/sources/streaming-eventhub/index.ts). */
const HUB_BATCH = 50;
const HUB_PARTITIONS = 4;
const RECORDS_PER_MESSAGE = 2;
const RUN_SECONDS = 15;
/** A run of the Event Hubs input must end within run_seconds and this. */
const EXIT_BOUND_MS = 10_000;

const policy: SasPolicy = { name: 'splunk-listen', key: 'ZmF1bHQtY2FtcGFpZ24ta2V5' };
let s: StandIns;
let az: Azurite;
let proxy: HttpsFaultProxy;
let eh: EventHubsStandIn;

before(async () => {
  [s, az] = await Promise.all([startStandIns(), startAzurite()]);
  const tls = { key: readFileSync(path.join(az.dir, 'key.pem'), 'utf8'), cert: readFileSync(az.caFile, 'utf8') };
  proxy = new HttpsFaultProxy(az.endpoint, tls);
  await proxy.start();
  eh = new EventHubsStandIn({ tls, hubs: [], policies: [policy] });
  await eh.start();
  // Short request timeout, so that "slower than the timeout" is cheap to provoke.
  s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'collection', { request_timeout: '4' });
});
after(async () => {
  await eh?.stop();
  await proxy?.stop();
  await Promise.all([az?.stop(), s?.stop()]);
});

/**
 * `output`: after that much output, while it is read; `stalled`: after that much output, splunkd stops
 * reading for `ms` (the input blocks mid-write on a full pipe) and the kill lands then; `checkpoint`:
 * on the nth inotify event of the checkpoint's temp file; `time`: after `ms`.
 */
type Kill = { kind: 'output'; bytes: number } | { kind: 'stalled'; bytes: number; ms: number } | { kind: 'checkpoint'; nth: number } | { kind: 'time'; ms: number };

interface Outcome extends RunResult {
  /** Why the campaign killed it: the planned kill, or `watchdog` when it did not exit by itself. */
  killedFor?: Kill['kind'] | 'watchdog';
  ms: number;
  /**
   * Events read from two seconds before the kill on (those still in the pipe included): an upper
   * bound of what the run emitted after its last checkpoint write (the Event Hubs input writes its
   * file at most once a second; an event is read after it was written).
   */
  recentEvents: number;
}

/** How far back from a kill the events it may repeat were emitted: the write interval, and as much again for slack. */
const RECENT_MS = 2_000;

/** One run of the launcher with an optional planned kill -9, and a watchdog that proves it exits by itself. */
async function runPlanned(scheme: string, xml: string, checkpointDir: string, kill: Kill | undefined, watchdogMs: number): Promise<Outcome> {
  let killedFor: Outcome['killedFor'];
  let killedAt: number | undefined;
  let watcher: FSWatcher | undefined;
  const timers: NodeJS.Timeout[] = [];
  const reads: { at: number; chars: number }[] = [];
  const started = Date.now();
  const result = await runInputProcess(scheme, [], xml, {
    killAfterStdoutBytes: kill?.kind === 'output' ? kill.bytes : undefined,
    onSpawn: (child) => {
      let chars = 0;
      // Before the harness's own listener: an `output` kill lands in the same turn as this read.
      child.stdout?.on('data', (chunk: Buffer | string) => {
        chars += String(chunk).length;
        reads.push({ at: Date.now(), chars });
        if (kill?.kind === 'output' && killedAt === undefined && chars >= kill.bytes) killedAt = Date.now();
      });
      const killNow = (why: NonNullable<Outcome['killedFor']>) => {
        if (killedFor || child.exitCode !== null) return;
        killedFor = why;
        killedAt = Date.now();
        child.kill('SIGKILL');
      };
      if (kill?.kind === 'checkpoint') {
        // inotify events of the checkpoint's temp file (created, written, renamed): the kill lands while it is saved.
        let seen = 0;
        watcher = watch(checkpointDir, (_event, file) => {
          if (String(file).includes('.tmp-') && ++seen >= kill.nth) killNow('checkpoint');
        });
      }
      if (kill?.kind === 'time') timers.push(setTimeout(() => killNow('time'), kill.ms));
      if (kill?.kind === 'stalled') {
        let bytes = 0;
        const onData = (chunk: string) => {
          bytes += chunk.length;
          if (bytes < kill.bytes) return;
          child.stdout?.off('data', onData);
          child.stdout?.pause();
          timers.push(setTimeout(() => {
            killNow('stalled');
            // What was written before the kill is still in the pipe: read it.
            child.stdout?.resume();
          }, kill.ms));
        };
        child.stdout?.on('data', onData);
      }
      timers.push(setTimeout(() => killNow('watchdog'), watchdogMs));
    },
  });
  watcher?.close();
  for (const t of timers) clearTimeout(t);
  if (!killedFor && kill?.kind === 'output' && result.signal === 'SIGKILL') killedFor = 'output';
  const from = killedFor && killedAt !== undefined ? ([...reads].reverse().find((r) => r.at < killedAt! - RECENT_MS)?.chars ?? 0) : result.stdout.length;
  const recentEvents = result.stdout.slice(from).split('</event>').length - 1;
  return { ...result, killedFor, ms: Date.now() - started, recentEvents };
}

const totals = {
  blob: { rounds: 0, processes: 0, kills: 0, killsOutput: 0, killsStalled: 0, killsCheckpoint: 0, killsTime: 0, faults: 0, failedRuns: 0, records: 0, missing: 0, duplicates: 0, ms: 0 },
  eventhub: { rounds: 0, processes: 0, kills: 0, killsOutput: 0, killsStalled: 0, killsCheckpoint: 0, killsTime: 0, faults: 0, failedRuns: 0, records: 0, missing: 0, duplicates: 0, ms: 0, longestRunMs: 0 },
};

function countKill(t: { killsOutput: number; killsStalled: number; killsCheckpoint: number; killsTime: number }, kind: NonNullable<Outcome['killedFor']>): void {
  if (kind === 'output') t.killsOutput++;
  else if (kind === 'stalled') t.killsStalled++;
  else if (kind === 'checkpoint') t.killsCheckpoint++;
  else t.killsTime++;
}

/** What one round checks at its end, for either input. */
function settle(kind: 'blob' | 'eventhub', sent: Set<string>, emitted: string[], kills: number, perKill: number, recent = 0): void {
  const seen = new Set(emitted);
  const missing = [...sent].filter((id) => !seen.has(id));
  const unknown = [...seen].filter((id) => !sent.has(id));
  const duplicates = emitted.length - seen.size;
  const t = totals[kind];
  t.rounds++;
  t.records += sent.size;
  t.missing += missing.length;
  t.duplicates += duplicates;
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${sent.size} records never emitted`);
  assert.deepEqual(unknown.slice(0, 20), [], 'events that were never sent');
  assert.ok(duplicates <= kills * perKill + recent, `${duplicates} duplicates from ${kills} kills (at most ${perKill} each, plus ${recent} emitted within ${RECENT_MS} ms before them)`);
}

// ---- Storage Account input, Azurite behind the fault proxy ------------------------------------

let seq = 0;
for (let round = 0; round < RUNS; round++) {
  const seed = SEED + round;
  test(`streaming blob round ${round + 1} (FAULT_SEED=${SEED}, round seed ${seed})`, async () => {
    const started = Date.now();
    const random = rng(seed);
    const pick = picker(random);
    const t = totals.blob;
    const tenant = newTenant();
    const tables = ['DeviceProcessEvents', 'DeviceNetworkEvents'];
    const blobs = tables.flatMap((table) => [0, 1].map((hoursAgo) => ({ table, name: blobPath(tenant, new Date(Date.now() - hoursAgo * 3600_000)) })));
    const sent = new Set<string>();
    const pending = new Map<string, string>(); // blob -> the rest of a half-written record
    const emitted: string[] = [];
    let lineBytes = Infinity;

    /** Appends records to a random blob, sometimes ending in half a record (the rest comes with the next append). */
    const grow = async (records: number) => {
      const target = pick(blobs);
      const key = `${target.table}/${target.name}`;
      const lines = Array.from({ length: records }, () => streamingRecord(target.table, ++seq, tenant));
      const blob = await appendRecords(az.service, target.table, target.name, []);
      if (pending.has(key)) await appendRaw(blob, pending.get(key)!);
      pending.delete(key);
      await appendRecords(az.service, target.table, target.name, lines);
      for (const r of lines) {
        sent.add(`${target.table}:${(r.properties as { Seq: number }).Seq}`);
        lineBytes = Math.min(lineBytes, JSON.stringify(r).length + 2);
      }
      if (random() < 0.3) {
        const half = streamingRecord(target.table, ++seq, tenant);
        const text = `${JSON.stringify(half)}\r\n`;
        const cut = 1 + Math.floor(random() * (text.length - 3));
        await appendRaw(blob, text.slice(0, cut));
        pending.set(key, text.slice(cut));
        sent.add(`${target.table}:${(half.properties as { Seq: number }).Seq}`);
      }
    };
    const download = /^GET .*PT1H\.json/;
    const faultKinds: (() => StorageFault)[] = [
      () => ({ kind: 'busy', match: pick([download, /comp=list/, undefined]) }),
      () => ({ kind: 'reset', match: pick([download, /comp=list/]) }),
      () => ({ kind: 'truncate', match: download }),
      () => ({ kind: 'delay', match: pick([download, /comp=list/]), ms: 5_000 }), // beyond request_timeout = 4 s
    ];
    const addFaults = (n: number) => {
      for (let i = 0; i < n; i++) proxy.faults.push(pick(faultKinds)());
    };
    const firedBefore = Object.values(proxy.fired).reduce((a, b) => a + b, 0);

    // Each round starts from empty containers, so that it sees only its own records.
    for (const table of tables) await az.service.getContainerClient(`insights-logs-advancedhunting-${table.toLowerCase()}`).deleteIfExists();
    for (const b of blobs) await appendRecords(az.service, b.table, b.name, []);
    for (let i = 0; i < 4; i++) await grow(1000 + Math.floor(random() * 4000));
    const name = `blobfaults${round}`;
    s.splunkd.setPassword(APP, APP, `${BLOB}://${name}`, az.key);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-blob-'));
    const xml = runConfigXml(s, BLOB, name, { storage_account: az.account, blob_endpoint: proxy.rewrite(az.endpoint), ca_file: az.caFile, tables: tables.join(','), start_date: new Date(Date.now() - 3 * 3600_000).toISOString() }, cp);
    const ids = (r: RunResult, complete: boolean) => parseStream(r.stdout, { complete }).map((e) => `${e.source}:${(JSON.parse(e.data) as { Seq: number }).Seq}`);
    proxy.faults.length = 0;
    addFaults(2 + Math.floor(random() * 3));

    let kills = 0;
    const runs: string[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      if (attempt > 0 && random() < 0.6) await grow(200 + Math.floor(random() * 2000));
      if (attempt > 0 && random() < 0.4) addFaults(1 + Math.floor(random() * 2));
      const kill: Kill | undefined = (attempt === 0 || (attempt < 5 && random() < 0.6))
        ? pick<Kill>([{ kind: 'output', bytes: Math.floor(random() * 6_000_000) }, { kind: 'stalled', bytes: Math.floor(random() * 3_000_000), ms: 300 + Math.floor(random() * 700) }, { kind: 'checkpoint', nth: 1 + Math.floor(random() * 12) }, { kind: 'time', ms: 300 + Math.floor(random() * 4000) }])
        : undefined;
      const r = await runPlanned(BLOB, xml, cp, kill, 90_000);
      t.processes++;
      assert.notEqual(r.killedFor, 'watchdog', `a run did not exit by itself within 90 s\n${r.stderr.slice(-2000)}`);
      emitted.push(...ids(r, !r.killedFor));
      runs.push(`${kill?.kind ?? 'no kill'}: ${r.killedFor ? `killed (${r.killedFor})` : `exit ${r.code}`}, ${ids(r, !r.killedFor).length} events, ${r.ms} ms`);
      if (r.killedFor) {
        kills++;
        countKill(t, r.killedFor);
        continue;
      }
      // A fault that outlasts the storage client's retries fails the run; nothing past it was checkpointed.
      if (r.code !== 0) {
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /ERROR Poll failed: /);
        t.failedRuns++;
      }
      if (attempt >= 2 && !proxy.faults.length) break;
    }
    // Then: faults gone, the last half record completed, runs until caught up; a last run finds nothing new.
    proxy.faults.length = 0;
    const fired = Object.values(proxy.fired).reduce((a, b) => a + b, 0) - firedBefore;
    t.faults += fired;
    for (const [key, rest] of pending) {
      const [table, ...blobName] = key.split('/');
      await appendRaw(await appendRecords(az.service, table!, blobName.join('/'), []), rest);
    }
    const clean = await runPlanned(BLOB, xml, cp, undefined, 90_000);
    const quiet = await runPlanned(BLOB, xml, cp, undefined, 90_000);
    t.processes += 2;
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(quiet.code, 0, quiet.stderr);
    emitted.push(...ids(clean, true));
    assert.deepEqual(ids(quiet, true), [], 'a run after catching up emits nothing');
    t.kills += kills;
    t.ms += Date.now() - started;
    console.log(`blob round ${round + 1}: ${sent.size} records, ${kills} kills, ${fired} faults fired (${JSON.stringify(proxy.fired)} so far), ${emitted.length - new Set(emitted).size} duplicates, ${Date.now() - started} ms; runs: ${runs.join('; ')}`);
    // A kill repeats at most the lines of one ranged read (blobs are read one range at a time).
    settle('blob', sent, emitted, kills, Math.ceil(CHUNK_BYTES / lineBytes));
  });
}

// ---- Event Hubs input, the stand-in over AMQP over WebSockets ---------------------------------

for (let round = 0; round < Math.ceil(RUNS / 2); round++) {
  const seed = SEED + 1000 + round;
  test(`streaming eventhub round ${round + 1} (FAULT_SEED=${SEED}, round seed ${seed})`, () => eventHubRound(`${round + 1}`, seed, 'local'));
}
// Once per campaign: the blob checkpoint store on Azurite behind the fault proxy, its checkpoint and
// ownership writes and listings failing at random (3 faults a run, 2 runs, then the clean runs).
// No kill: a killed run's claims would hold its partitions for 60 s (the two-forwarders e2e covers
// kill -9 with this store); with a shared store a run lasts run_seconds (10 s here).
test(`streaming eventhub round with the blob checkpoint store (FAULT_SEED=${SEED}, round seed ${SEED + 2000})`, () => eventHubRound('blob-store', SEED + 2000, 'blob'));

/** One Event Hubs round: faults and kills while messages arrive, then clean runs; `blob`: storage faults instead of kills. */
async function eventHubRound(label: string, seed: number, store: 'local' | 'blob'): Promise<void> {
  const started = Date.now();
  const runSeconds = store === 'blob' ? 10 : RUN_SECONDS;
  const random = rng(seed);
  const pick = picker(random);
  const t = totals.eventhub;
  const hub = `insights-logs-advancedhunting-faults-${store}-${seed}`;
  eh.addHub({ name: hub, partitions: HUB_PARTITIONS, consumerGroups: ['splunk'] });
  const sent = new Set<string>();
  const emitted: string[] = [];
  let n = 0;
  const send = (messagesPerPartition: number) => {
    for (let p = 0; p < HUB_PARTITIONS; p++) {
      const bodies = Array.from({ length: messagesPerPartition }, () => ({
        records: Array.from({ length: RECORDS_PER_MESSAGE }, () => {
          const id = `${hub}:${++n}`;
          sent.add(id);
          return { time: new Date().toISOString(), tenantId: s.tenantId, operationName: 'Publish', category: 'AdvancedHunting-DeviceProcessEvents', properties: { Timestamp: new Date().toISOString(), DeviceName: 'host1', ReportId: id } };
        }),
      }));
      eh.send(hub, String(p), bodies);
    }
  };
  const partition = () => String(Math.floor(random() * HUB_PARTITIONS));
  const faultKinds: (() => HubFault)[] = [
    () => ({ kind: 'server-busy', partition: partition() }), // the attach refused
    () => ({ kind: 'server-busy', partition: partition(), afterDeliveries: 1 + Math.floor(random() * 150) }),
    () => ({ kind: 'detach', partition: partition(), afterDeliveries: 1 + Math.floor(random() * 150) }),
    () => ({ kind: 'drop', partition: partition(), afterDeliveries: 1 + Math.floor(random() * 150) }),
  ];
  let added = 0;
  const addFaults = (count: number) => {
    for (let i = 0; i < count; i++) eh.faults.push(pick(faultKinds)());
    added += count;
  };

  const name = `ehfaults${store}${seed}`;
  s.splunkd.setPassword(APP, APP, `${HUB_SCHEME}://${name}`, eh.connectionString(policy, hub));
  const cp = mkdtempSync(path.join(s.workDir, 'cp-eh-'));
  const params: Record<string, string> = { ca_file: az.caFile, consumer_group: 'splunk', run_seconds: String(runSeconds) };
  const storageFaults: (() => StorageFault)[] = [
    () => ({ kind: 'busy', match: pick([/^PUT .*\/(checkpoint|ownership)\//, /comp=list/]) }),
    () => ({ kind: 'reset', match: pick([/^PUT .*\/(checkpoint|ownership)\//, /comp=list/]) }),
    () => ({ kind: 'delay', match: /^PUT .*\/checkpoint\//, ms: 5_000 }), // beyond request_timeout = 4 s
  ];
  const firedBefore = Object.values(proxy.fired).reduce((a, b) => a + b, 0);
  if (store === 'blob') {
    const container = az.service.getContainerClient(`eh-checkpoints-${seed}`);
    await container.createIfNotExists();
    const sas = new URL(await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) })).search.slice(1);
    s.splunkd.setPassword(APP, APP, `${HUB_SCHEME}://${name}#checkpoint`, sas);
    Object.assign(params, { checkpoint_store: 'blob', checkpoint_container_url: proxy.rewrite(container.url) });
    proxy.faults.length = 0;
  }
  const xml = runConfigXml(s, HUB_SCHEME, name, params, cp);
  const ids = (r: RunResult, complete: boolean) => parseStream(r.stdout, { complete }).map((e) => (JSON.parse(e.data) as { ReportId: string }).ReportId);
  const watchdogMs = runSeconds * 1000 + 30_000;
  /** A run that was not killed: exit 0, within run_seconds and the bound. */
  const exitedByItself = (r: Outcome) => {
    assert.notEqual(r.killedFor, 'watchdog', `a run did not exit by itself within ${watchdogMs} ms\n${r.stderr.slice(-2000)}`);
    assert.equal(r.code, 0, r.stderr.split('\n').filter((l) => /ERROR|WARN/.test(l)).join('\n'));
    assert.ok(r.ms < runSeconds * 1000 + EXIT_BOUND_MS, `exited after ${r.ms} ms (run_seconds ${runSeconds})`);
    t.longestRunMs = Math.max(t.longestRunMs, r.ms);
  };

  send(100 + Math.floor(random() * 200));
  eh.faults.length = 0;
  // With the blob store the faults are the storage's (the other rounds cover the stand-in's).
  if (store === 'local') addFaults(2 + Math.floor(random() * 2));
  let kills = 0;
  let recent = 0;
  const runs: string[] = [];
  // The first run always has a kill planned (it lands if the run gets that far); later ones at random.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0 && random() < 0.6) send(20 + Math.floor(random() * 150));
    if (store === 'local' && attempt > 0 && random() < 0.4) addFaults(1);
    if (store === 'blob') for (let i = 0; i < 3; i++) proxy.faults.push(pick(storageFaults)());
    const slow = store === 'local' && random() < 0.2;
    if (slow) {
      eh.faults.push({ kind: 'slow', partition: partition(), delayMs: 20 + Math.floor(random() * 60) });
      added++;
    }
    const kill: Kill | undefined = store === 'local' && (attempt === 0 || (attempt < 4 && random() < 0.6))
      ? pick<Kill>([{ kind: 'output', bytes: Math.floor(random() * 1_000_000) }, { kind: 'stalled', bytes: Math.floor(random() * 300_000), ms: 300 + Math.floor(random() * 700) }, { kind: 'checkpoint', nth: 1 + Math.floor(random() * 30) }, { kind: 'time', ms: 500 + Math.floor(random() * 6000) }])
      : undefined;
    const r = await runPlanned(HUB_SCHEME, xml, cp, kill, watchdogMs);
    if (slow) eh.faults.splice(0, eh.faults.length, ...eh.faults.filter((f) => f.kind !== 'slow'));
    t.processes++;
    emitted.push(...ids(r, !r.killedFor || r.killedFor === 'watchdog'));
    runs.push(`${kill?.kind ?? 'no kill'}: ${r.killedFor ? `killed (${r.killedFor})` : `exit ${r.code}`}, ${ids(r, !r.killedFor).length} events, ${r.ms} ms`);
    if (r.killedFor && r.killedFor !== 'watchdog') {
      kills++;
      recent += r.recentEvents;
      countKill(t, r.killedFor);
      continue;
    }
    exitedByItself(r);
    if (attempt >= (store === 'blob' ? 1 : 2) && !eh.faults.length) break;
  }
  const storageFired = Object.values(proxy.fired).reduce((a, b) => a + b, 0) - firedBefore;
  const fired = added - eh.faults.length + storageFired;
  t.faults += fired;
  eh.faults.length = 0;
  proxy.faults.length = 0;
  const clean = await runPlanned(HUB_SCHEME, xml, cp, undefined, watchdogMs);
  const quiet = await runPlanned(HUB_SCHEME, xml, cp, undefined, watchdogMs);
  t.processes += 2;
  exitedByItself(clean);
  exitedByItself(quiet);
  emitted.push(...ids(clean, true));
  assert.deepEqual(ids(quiet, true), [], 'a run after catching up emits nothing');
  t.kills += kills;
  t.ms += Date.now() - started;
  console.log(`eventhub round ${label} (${store} checkpoint store): ${sent.size} records, ${kills} kills, ${fired} faults fired (${storageFired} on the checkpoint store), ${emitted.length - new Set(emitted).size} duplicates (${recent} emitted within ${RECENT_MS} ms before the kills), ${Date.now() - started} ms; runs: ${runs.join('; ')}`);
  // A kill repeats at most the batch in flight on each partition and what was emitted since the
  // checkpoint file's last write (at most a second before).
  settle('eventhub', sent, emitted, kills, HUB_PARTITIONS * HUB_BATCH * RECORDS_PER_MESSAGE, recent);
}

test('streaming campaign figures', () => {
  const line = (kind: keyof typeof totals) => Object.entries(totals[kind]).map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`streaming fault campaign (FAULT_SEED=${SEED}): blob ${line('blob')}`);
  console.log(`streaming fault campaign (FAULT_SEED=${SEED}): eventhub ${line('eventhub')}`);
  assert.equal(totals.blob.missing + totals.eventhub.missing, 0);
});
