/**
 * The fault campaign (npm run test:faults): seeded, randomized runs of the built bundle against the
 * simulator with throttling, server errors, resets, truncated bodies, timeouts, expiring tokens,
 * items updated while paged and kill -9 at random points. After each campaign and a clean rerun:
 * every item version the simulator holds was emitted, duplicates come only from kills (at most
 * one page each), and the checkpoint never moved backwards. Runs the Graph alerts input, and the
 * Defender for Endpoint alerts input (windows without $count, client-side rate limit) half as often.
 * Every other run sets SPLUNK_HOME, as splunkd always does, so the encrypted token cache and the
 * code cache are under the same faults and kills (tokens expired mid-backlog, token-endpoint
 * faults, kills while a token file is written); the others run without either.
 * FAULT_RUNS (default 4) and FAULT_SEED (default 1) size it; a soak is FAULT_RUNS=50.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseStream, provisionAccount, runConfigXml, runInputProcess, startStandIns, type StandIns } from '../../tools/harness.js';
import { campaignSeed, rng } from '../helpers/faultSchedule.js';
import { churnWhilePaged, coverage, POLL_SCHEMES, pollTargets, queueFaults } from '../helpers/pollCampaign.js';

const RUNS = Number(process.env.FAULT_RUNS ?? 4);
const SEED = campaignSeed(1);

let s: StandIns;
before(async () => {
  s = await startStandIns();
  provisionAccount(s, 'prod');
  // Short timeouts and retry budget so "slower than the timeout" is cheap to provoke.
  s.splunkd.setConfStanza('TA-defender-xdr', 'defender_xdr_settings', 'collection', { reread_window: '300', request_timeout: '2', max_retries: '8' });
});
after(async () => s?.stop());

const totals = { runs: 0, processes: 0, faults: 0, kills: 0, items: 0, missing: 0, duplicates: 0, keptTokenProcesses: 0 };
const tokenRequests = (from: number) => s.graph.requests.slice(from).filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;

// Every run for the Graph alerts input; every other run for Defender for Endpoint's (same faults).
const plan: [run: number, target: number][] = [
  ...Array.from({ length: RUNS }, (_, run): [number, number] => [run, 0]),
  ...Array.from({ length: Math.ceil(RUNS / 2) }, (_, run): [number, number] => [run, 1]),
];

for (const [run, which] of plan) {
  test(`campaign run ${run + 1} (seed ${SEED + run + 1000 * which}), ${POLL_SCHEMES[which]}`, async () => {
    const target = pollTargets(s)[which];
    const random = rng(SEED + run + 1000 * which);
    target.reset();
    s.graph.faults.length = 0;
    const size = 1500 + Math.floor(random() * 2500);
    const created = target.add(size);
    const cp = mkdtempSync(path.join(s.workDir, 'campaign-'));
    const params = { account: 'prod', start_date: new Date(Date.now() - 86_400_000).toISOString() };
    const emitted: string[] = [];
    const marks: string[] = [];
    // splunkd's SPLUNK_HOME on even runs: tokens kept (encrypted) between this run's processes.
    const env = run % 2 === 0 ? { SPLUNK_HOME: mkdtempSync(path.join(s.workDir, 'home-')) } : undefined;
    const launch = async (opts: { killAfterStdoutBytes?: number }) => {
      const before = s.graph.requests.length;
      const result = await runInputProcess(target.scheme, [], runConfigXml(s, target.scheme, `campaign${run}_${which}`, params, cp), { ...opts, env });
      totals.processes++;
      if (env && tokenRequests(before) === 0) totals.keptTokenProcesses++;
      return result;
    };
    let kills = 0;
    const faults = queueFaults(s, target, random);
    churnWhilePaged(s, target, created, random);

    for (let attempt = 0; attempt < 12; attempt++) {
      const kill = attempt < 4 && random() < 0.6;
      const result = await launch(kill ? { killAfterStdoutBytes: Math.floor(random() * size * 4500) } : {});
      for (const e of parseStream(result.stdout, { complete: !kill })) emitted.push(target.versionOf(JSON.parse(e.data)));
      const files = readdirSync(cp).filter((f) => f.endsWith('.json'));
      if (files.length) marks.push(JSON.parse(readFileSync(path.join(cp, files[0]), 'utf8')).highWaterMark);
      if (result.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      assert.equal(result.code, 0, result.stderr.split('\n').filter((l) => l.startsWith('ERROR')).join('\n'));
      if (s.graph.faults.some((f) => f.times > 0)) continue; // faults left for the next run
      break;
    }
    target.onListPage(undefined);
    // A clean rerun after the campaign: the final state must be complete.
    const clean = await launch({});
    assert.equal(clean.code, 0, clean.stderr);
    for (const e of parseStream(clean.stdout)) emitted.push(target.versionOf(JSON.parse(e.data)));

    const held = target.held();
    const { missing, duplicates } = coverage(emitted, held);
    totals.runs++;
    totals.faults += faults;
    totals.kills += kills;
    totals.items += held.length;
    totals.missing += missing.length;
    totals.duplicates += duplicates;
    assert.deepEqual(missing, [], 'item versions never emitted');
    assert.ok(duplicates <= kills * target.page, `${duplicates} duplicates from ${kills} kills`);
    assert.deepEqual(marks, [...marks].sort(), 'the checkpoint moved backwards');
  });
}

test('campaign figures', () => {
  console.log(
    `fault campaign: runs=${totals.runs} processes=${totals.processes} faults=${totals.faults} kills=${totals.kills} items=${totals.items} missing=${totals.missing} duplicates=${totals.duplicates} kept_token_processes=${totals.keptTokenProcesses}`,
  );
  assert.equal(totals.missing, 0);
  // The runs with SPLUNK_HOME must have used a kept token at least once, or the cache went untested.
  assert.ok(totals.keptTokenProcesses > 0, 'no process used a kept token');
});
