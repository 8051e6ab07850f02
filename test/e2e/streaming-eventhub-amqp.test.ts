/**
 * End to end over AMQP: the built defender_xdr_streaming_eventhub bundle through its launcher, the
 * real @azure/event-hubs SDK inside it, against the Event Hubs stand-in (tools/simulator/eventHubs.ts)
 * over AMQP over WebSockets, with the splunkd stand-in and Azurite for the blob checkpoint store.
 * Settings are the shipped defaults (max_retries = 6): failing fast must not depend on them.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContainerSASPermissions } from '@azure/storage-blob';
import { APP, parseStream, runConfigXml, runInputProcess, SECRET_CANARY, startStandIns, type RunResult, type StandIns } from '../../tools/harness.js';
import { EventHubsStandIn, type SasPolicy } from '../../tools/simulator/eventHubs.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { ConnectProxy } from '../helpers/connectProxy.js';

const SCHEME = 'defender_xdr_streaming_eventhub';
const policy: SasPolicy = { name: 'splunk-listen', key: `${SECRET_CANARY}c2VjcmV0LWtleS1mb3ItdGVzdHM=` };
let s: StandIns;
let eh: EventHubsStandIn;
let az: Azurite;
let caFile: string;
let hubCount = 0;

before(async () => {
  s = await startStandIns();
  az = await startAzurite();
  // The input has one ca_file for the namespace and the storage account: both stand-ins serve
  // Azurite's certificate (two self-signed certificates with one subject in a file confuse
  // OpenSSL's issuer lookup).
  caFile = az.caFile;
  eh = new EventHubsStandIn({ tls: { key: readFileSync(path.join(az.dir, 'key.pem'), 'utf8'), cert: readFileSync(az.caFile, 'utf8') }, hubs: [], policies: [policy] });
  await eh.start();
});
after(async () => {
  await eh?.stop();
  await az?.stop();
  await s?.stop();
});

/** A fresh hub with `partitions` partitions, and an input stanza reading it with a SAS connection string. */
function newHub(partitions: number, key = policy.key): { hub: string; name: string } {
  const hub = `insights-logs-advancedhunting-e2e${++hubCount}`;
  eh.addHub({ name: hub, partitions, consumerGroups: ['splunk'] });
  const name = `eh${hubCount}`;
  s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, eh.connectionString(policy, hub, key));
  return { hub, name };
}

let seq = 0;
/** Sends `messages` messages of `perMessage` records to every partition; returns the record ids sent. */
function sendAll(hub: string, partitions: number, messages: number, perMessage = 3): string[] {
  const ids: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const bodies = Array.from({ length: messages }, () => {
      const records = Array.from({ length: perMessage }, () => {
        const id = `r${++seq}`;
        ids.push(id);
        return { time: new Date().toISOString(), tenantId: s.tenantId, operationName: 'Publish', category: 'AdvancedHunting-DeviceProcessEvents', properties: { Timestamp: new Date().toISOString(), DeviceName: 'host1', ReportId: id } };
      });
      return { records };
    });
    eh.send(hub, String(p), bodies);
  }
  return ids;
}

const idsOf = (r: RunResult, complete = true) => parseStream(r.stdout, { complete }).map((e) => (JSON.parse(e.data) as { ReportId: string }).ReportId);

async function run(name: string, params: Record<string, string>, cp: string, opts: Parameters<typeof runInputProcess>[3] = {}): Promise<RunResult & { ms: number }> {
  const started = Date.now();
  const r = await runInputProcess(SCHEME, [], runConfigXml(s, SCHEME, name, { ca_file: caFile, run_seconds: '20', consumer_group: 'splunk', ...params }, cp), opts);
  assert.ok(!r.stdout.includes(SECRET_CANARY) && !r.stderr.includes(SECRET_CANARY), 'secret leaked');
  return { ...r, ms: Date.now() - started };
}

/** When the test read each part of a run's stdout, to bound what a kill repeats by what was emitted before it. */
function outputTimes() {
  const reads: { at: number; chars: number }[] = [];
  let chars = 0;
  return {
    watch: (child: ChildProcess) => {
      child.stdout!.on('data', (chunk: Buffer | string) => {
        chars += String(chunk).length;
        reads.push({ at: Date.now(), chars });
      });
    },
    /** When the output had reached `chars` characters. */
    at: (mark: number) => reads.find((r) => r.chars >= mark)?.at ?? Date.now(),
    /** Events whose closing tag was read at `since` or later. */
    eventsReadSince: (stdout: string, since: number) => {
      const from = [...reads].reverse().find((r) => r.at < since)?.chars ?? 0;
      return stdout.slice(from).split('</event>').length - 1;
    },
  };
}

const finished = (r: RunResult) => /Poll finished/.exec(r.stderr) ? r.stderr.split('\n').find((l) => l.includes('Poll finished'))! : '';

describe('defender_xdr_streaming_eventhub over AMQP with the real SDK (built bundle)', () => {
  test('earliest: the first run reads every partition and exits caught up; the next run reads only what arrived since (local checkpoints)', async () => {
    const { hub, name } = newHub(4);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const first = sendAll(hub, 4, 5);
    const r1 = await run(name, {}, cp);
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(idsOf(r1).sort(), first.sort());
    assert.match(finished(r1), /ended_by=caught_up/);
    assert.ok(r1.ms < 20_000, `ran ${r1.ms} ms`);
    const second = sendAll(hub, 4, 2);
    const r2 = await run(name, {}, cp);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(idsOf(r2).sort(), second.sort());
    assert.ok(eh.attaches.some((a) => a.hub === hub && /x-opt-offset > '\d+'/.test(a.filter)), 'resumed from the checkpointed offset');
  });

  test('latest: the first run skips what the hub held and pins the position; the next run reads what arrived between', async () => {
    const { hub, name } = newHub(2);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    sendAll(hub, 2, 3);
    const r1 = await run(name, { start_position: 'latest' }, cp);
    assert.equal(r1.code, 0, r1.stderr);
    assert.deepEqual(idsOf(r1), []);
    const later = sendAll(hub, 2, 2);
    const r2 = await run(name, { start_position: 'latest' }, cp);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(idsOf(r2).sort(), later.sort());
  });

  test('blob checkpoint store on Azurite: resume after checkpoints, ownership and checkpoints as the SDK keeps them', async () => {
    const { hub, name } = newHub(3);
    const container = az.service.getContainerClient(`cp-${name}`);
    await container.create();
    const sas = new URL(await container.generateSasUrl({ permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) })).search.slice(1);
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}#checkpoint`, sas);
    const params = { checkpoint_store: 'blob', checkpoint_container_url: container.url };
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const first = sendAll(hub, 3, 4);
    const r1 = await run(name, params, cp);
    assert.equal(r1.code, 0, r1.stderr);
    const blobs: string[] = [];
    for await (const b of container.listBlobsFlat()) blobs.push(b.name);
    assert.deepEqual(idsOf(r1).sort(), first.sort(), `${r1.stderr}\n${blobs.join()}\n${JSON.stringify(eh.attaches.filter((a) => a.hub === hub))} ${JSON.stringify(eh.managementReads.slice(-5))}`);
    assert.equal(blobs.filter((b) => b.includes('/checkpoint/')).length, 3, blobs.join());
    assert.ok(blobs.every((b) => b.startsWith(`127.0.0.1/${hub}/splunk/`)), blobs.join());
    const second = sendAll(hub, 3, 2);
    const r2 = await run(name, params, cp);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(idsOf(r2).sort(), second.sort());
    assert.ok(eh.attaches.filter((a) => a.hub === hub).every((a) => a.epoch === 0), 'epoch 0 with a checkpoint store');
  });

  test('kill -9 mid-batch: the next run emits everything not yet emitted; repeats bounded by one batch per partition and the last second', async () => {
    const { hub, name } = newHub(2);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const sent = sendAll(hub, 2, 400, 2);
    const output = outputTimes();
    const r1 = await run(name, {}, cp, { killAfterStdoutBytes: 150_000, onSpawn: output.watch });
    assert.equal(r1.signal, 'SIGKILL');
    const before = idsOf(r1, false);
    assert.ok(before.length > 0 && before.length < sent.length, `${before.length} before the kill`);
    const r2 = await run(name, {}, cp);
    assert.equal(r2.code, 0, r2.stderr);
    const after = idsOf(r2);
    assert.deepEqual([...new Set([...before, ...after])].sort(), [...sent].sort(), 'every record emitted');
    const repeated = after.filter((id) => before.includes(id)).length;
    // The checkpoint file is written at most once a second: per partition, the batch being written
    // (50 messages of 2 records), plus what was emitted since the last write; read times are later
    // than write times, so counting what was read from a second (and a second's slack) before the
    // kill on covers it.
    const recent = output.eventsReadSince(r1.stdout, output.at(150_000) - 2_000);
    assert.ok(repeated <= 2 * 50 * 2 + recent, `${repeated} repeated (${recent} emitted in the last two seconds)`);
  });

  test('SIGTERM (splunkd stopping the input) mid-run: checkpoints written before it exits, so the next run repeats at most the batches being written', async () => {
    const { hub, name } = newHub(2);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const sent = sendAll(hub, 2, 2000, 2);
    let signalled = false;
    const r1 = await run(name, {}, cp, {
      onSpawn: (child) => {
        let events = 0;
        child.stdout!.on('data', (chunk: Buffer | string) => {
          events += String(chunk).split('</event>').length - 1;
          // Well past the first checkpoint write (at once) and within the second before the next.
          if (!signalled && events >= 3000) {
            signalled = true;
            child.kill('SIGTERM');
          }
        });
      },
    });
    assert.equal(r1.code, 143, r1.stderr.slice(-2000));
    const before = idsOf(r1, false);
    assert.ok(before.length >= 3000 && before.length < sent.length, `${before.length} before SIGTERM`);
    const r2 = await run(name, {}, cp);
    assert.equal(r2.code, 0, r2.stderr);
    const after = idsOf(r2);
    assert.deepEqual([...new Set([...before, ...after])].sort(), [...sent].sort(), 'every record emitted');
    const repeated = after.filter((id) => before.includes(id)).length;
    // Per partition, at most the batch being written when the signal came (50 messages of 2 records).
    assert.ok(repeated <= 2 * 50 * 2, `${repeated} repeated`);
  });

  for (const kind of ['server-busy', 'detach', 'drop'] as const) {
    test(`${kind} on an open receiver: the SDK re-attaches, the process exits by itself, and every record arrives once (this run or the next)`, async () => {
      const { hub, name } = newHub(2);
      const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
      const sent = sendAll(hub, 2, 30);
      eh.faults.push({ kind, partition: '1', afterDeliveries: 10 });
      const r = await run(name, { run_seconds: '15' }, cp);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.ms < 15_000 + 8_000, `exited after ${r.ms} ms`);
      // A partition reconnecting delivers empty batches meanwhile, so the run may judge itself caught
      // up before the re-attach: the next run reads the rest from the checkpoints.
      const rest = await run(name, { run_seconds: '15' }, cp);
      assert.equal(rest.code, 0, rest.stderr);
      assert.deepEqual([...idsOf(r), ...idsOf(rest)].sort(), sent.sort(), 'every record once');
      assert.ok(eh.attaches.filter((a) => a.hub === hub && a.partition === '1').length >= 2, 're-attached');
    });
  }

  test('slow deliveries: the run ends at run_seconds with what it emitted checkpointed, and the next run goes on from there', async () => {
    const { hub, name } = newHub(1);
    const cp = mkdtempSync(path.join(s.workDir, 'cp-'));
    const sent = sendAll(hub, 1, 40, 1);
    eh.faults.push({ kind: 'slow', partition: '0', delayMs: 400 });
    const r1 = await run(name, { run_seconds: '10' }, cp);
    eh.faults.length = 0;
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(finished(r1), /ended_by=run_time/);
    assert.ok(r1.ms < 10_000 + 8_000, `exited after ${r1.ms} ms`);
    const first = idsOf(r1);
    assert.ok(first.length > 0 && first.length < sent.length, `${first.length} in the first run`);
    const r2 = await run(name, {}, cp);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual([...first, ...idsOf(r2)], sent, 'in order, nothing lost or repeated');
  });

  test('a wrong key fails the run in seconds with the fix named (the SDK alone retries it for minutes)', async () => {
    const { hub, name } = newHub(1, `${SECRET_CANARY}wrong-key`);
    sendAll(hub, 1, 1);
    const r = await run(name, {}, mkdtempSync(path.join(s.workDir, 'cp-')));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERROR Poll failed: Event Hubs refused the credentials \(UnauthorizedError: .*invalid signature.*\)\. Check the connection string's key/);
    assert.ok(r.ms < 10_000, `failed after ${r.ms} ms`);
  });

  test('an injected put-token refusal (401) fails the run in seconds with the fix named', async () => {
    const { hub, name } = newHub(2);
    sendAll(hub, 2, 2);
    eh.faults.push({ kind: 'unauthorized', times: 50 });
    const r = await run(name, {}, mkdtempSync(path.join(s.workDir, 'cp-')));
    eh.faults.length = 0;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Event Hubs refused the credentials/);
    assert.ok(r.ms < 10_000, `failed after ${r.ms} ms`);
  });

  test('an unknown hub or consumer group fails the run in seconds with the fix named', async () => {
    const { name } = newHub(1);
    s.splunkd.setPassword(APP, APP, `${SCHEME}://${name}`, eh.connectionString(policy, 'no-such-hub'));
    const r1 = await run(name, {}, mkdtempSync(path.join(s.workDir, 'cp-')));
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /Event Hubs does not know this hub or consumer group \(MessagingEntityNotFoundError: .*no-such-hub.*\)\. Check event_hub and consumer_group/);
    const other = newHub(1);
    const r2 = await run(other.name, { consumer_group: 'nobody' }, mkdtempSync(path.join(s.workDir, 'cp-')));
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /Event Hubs does not know this hub or consumer group \(MessagingEntityNotFoundError: .*consumergroups\/nobody.*\)/);
    assert.ok(r1.ms < 10_000 && r2.ms < 10_000, `${r1.ms} ms, ${r2.ms} ms`);
  });

  test('[proxy]: AMQP over WebSockets goes through the authenticating CONNECT proxy', async () => {
    const proxy = new ConnectProxy('splunk', `${SECRET_CANARY}proxy-pass`);
    await proxy.start();
    try {
      s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'proxy', { proxy_enabled: '1', proxy_url: proxy.url, proxy_username: 'splunk' });
      s.splunkd.setPassword(APP, APP, '__proxy__', `${SECRET_CANARY}proxy-pass`);
      const { hub, name } = newHub(2);
      const sent = sendAll(hub, 2, 3);
      const r = await run(name, {}, mkdtempSync(path.join(s.workDir, 'cp-')));
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(idsOf(r).sort(), sent.sort());
      assert.ok(proxy.connects.some((c) => c.target === `127.0.0.1:${eh.port}` && c.auth), JSON.stringify(proxy.connects));
    } finally {
      s.splunkd.setConfStanza(APP, 'defender_xdr_settings', 'proxy', { proxy_enabled: '0' });
      await proxy.stop();
    }
  });
});
