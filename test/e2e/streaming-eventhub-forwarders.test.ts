/**
 * Two forwarders, one hub: two processes of the built defender_xdr_streaming_eventhub with the same
 * stanza and a blob checkpoint store on Azurite share a 32-partition hub of the Event Hubs stand-in
 * while a steady stream arrives; one is killed (-9) part-way. Every record arrives, no partition is
 * read by two receivers at once once the balance settled, duplicates stay within the batches in
 * flight, and the survivor takes the dead one's partitions over once its ownership expires (60 s).
 * About two minutes: set TA_SKIP_FORWARDERS=1 to skip it locally.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ContainerSASPermissions } from '@azure/storage-blob';
import { APP, APP_DIR, parseStream, runConfigXml, startStandIns, type StandIns } from '../../tools/harness.js';
import { EventHubsStandIn, type SasPolicy } from '../../tools/simulator/eventHubs.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';

const SCHEME = 'defender_xdr_streaming_eventhub';
const HUB = 'insights-logs-advancedhunting-deviceevents';
const PARTITIONS = 32;
const policy: SasPolicy = { name: 'splunk-listen', key: 'Zm9yd2FyZGVycy1rZXk=' };
let s: StandIns;
let eh: EventHubsStandIn;
let az: Azurite;

before(async () => {
  s = await startStandIns();
  az = await startAzurite();
  eh = new EventHubsStandIn({ tls: { key: readFileSync(path.join(az.dir, 'key.pem'), 'utf8'), cert: readFileSync(az.caFile, 'utf8') }, hubs: [{ name: HUB, partitions: PARTITIONS, consumerGroups: ['splunk'] }], policies: [policy] });
  await eh.start();
});
after(async () => {
  await eh?.stop();
  await az?.stop();
  await s?.stop();
});

interface Forwarder {
  stdout: string;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

function startForwarder(xml: string): Forwarder {
  const child = spawn(path.join(APP_DIR, 'bin', `${SCHEME}.sh`), [], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const f: Forwarder = {
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    kill: () => child.kill('SIGKILL'),
  };
  child.stdout.setEncoding('utf8').on('data', (c: string) => (f.stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (f.stderr += c));
  child.stdin.end(xml);
  return f;
}

const idsOf = (stdout: string) => parseStream(stdout, { complete: false }).map((e) => (JSON.parse(e.data) as { ReportId: string }).ReportId);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('two forwarders share 32 partitions through the blob store; one is killed; every record arrives', { skip: process.env.TA_SKIP_FORWARDERS === '1' }, async () => {
  const name = 'shared';
  s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, eh.connectionString(policy, HUB));
  const container = az.service.getContainerClient('eventhub-checkpoints');
  await container.create();
  const sas = new URL(await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) })).search.slice(1);
  s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}#checkpoint`, sas);
  const params = { ca_file: az.caFile, consumer_group: 'splunk', checkpoint_store: 'blob', checkpoint_container_url: container.url };
  // Each forwarder has its own splunkd checkpoint folder (its own host); they share the container.
  const xml = (runSeconds: number) => runConfigXml(s, SCHEME, name, { ...params, run_seconds: String(runSeconds) }, mkdtempSync(path.join(s.workDir, 'cp-')));

  // A steady stream: one message of 2 records every 40 ms, round-robin over the partitions.
  const sent: string[] = [];
  let n = 0;
  const stream = setInterval(() => {
    const ids = [`r${n}a`, `r${n}b`];
    sent.push(...ids);
    eh.send(HUB, String(n % PARTITIONS), [{ records: ids.map((id) => ({ time: new Date().toISOString(), category: 'AdvancedHunting-DeviceEvents', properties: { ReportId: id } })) }]);
    n++;
  }, 40);

  // Who reads which partition, sampled every 200 ms.
  const samples: { at: number; links: ReturnType<EventHubsStandIn['openLinks']> }[] = [];
  const sampler = setInterval(() => samples.push({ at: Date.now(), links: eh.openLinks() }), 200);

  const started = Date.now();
  const a = startForwarder(xml(150));
  const b = startForwarder(xml(150));
  await sleep(25_000);
  const killedAt = Date.now();
  a.kill();
  await a.exited;
  // The dead forwarder's claims expire after 60 s; the survivor's next balancing round (10 s) takes them.
  let takeoverMs: number | undefined;
  while (Date.now() - killedAt < 110_000) {
    await sleep(500);
    const last = samples[samples.length - 1];
    if (last && last.at > killedAt && new Set(last.links.map((l) => l.partition)).size === PARTITIONS && takeoverMs === undefined) {
      // Every partition read again, by the survivor's connection(s) only.
      const afterKill = eh.attaches.filter((x) => x.at > killedAt && x.outcome === 'open');
      if (afterKill.length) takeoverMs = Math.max(...afterKill.map((x) => x.at)) - killedAt;
    }
    if (takeoverMs !== undefined && Date.now() - killedAt > takeoverMs + 8_000) break;
  }
  clearInterval(stream);
  const streamEnded = Date.now();
  const bExit = await b.exited;
  clearInterval(sampler);
  // A last run of one forwarder collects what arrived after the survivor's run ended.
  const c = startForwarder(xml(60));
  const cExit = await c.exited;

  assert.equal(bExit.code, 0, b.stderr);
  assert.equal(cExit.code, 0, c.stderr);
  assert.ok(takeoverMs !== undefined, `no takeover within 110 s of the kill: ${JSON.stringify(samples[samples.length - 1]?.links.length)} partitions read`);
  const got = [...idsOf(a.stdout), ...idsOf(b.stdout), ...idsOf(c.stdout)];
  const missing = sent.filter((id) => !got.includes(id));
  assert.deepEqual(missing, [], `${missing.length} of ${sent.length} records missing`);
  const duplicates = got.length - new Set(got).size;
  // Repeats come only from batches emitted but not yet checkpointed: at most one batch per partition the killed forwarder held.
  assert.ok(duplicates <= PARTITIONS * 300 * 2, `${duplicates} duplicates`);

  // After the balance settled (20 s from start), and away from the kill, no partition had two receivers at once.
  const settled = samples.filter((x) => x.at > started + 20_000);
  const doubled = settled.filter((x) => new Set(x.links.map((l) => l.partition)).size !== x.links.length);
  assert.deepEqual(doubled.map((x) => x.links.length), [], 'a partition read by two receivers at once');
  console.log(`two forwarders: ${sent.length} records in ${((streamEnded - started) / 1000).toFixed(0)} s, ${duplicates} duplicates, takeover ${((takeoverMs ?? 0) / 1000).toFixed(1)} s after kill -9 (ownership expiry 60 s)`);
});
