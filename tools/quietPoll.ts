/**
 * The benchmark's "quiet poll" section (issue 19): what a poll that finds nothing costs, against
 * what Node.js itself costs to start (`node -e 0`) in the same run. Each program runs through its
 * launcher as splunkd runs it, with SPLUNK_HOME set (as splunkd always does: the code cache, the
 * kept tokens and the add-on log live there). CPU and peak RSS come from the kernel's rusage of the whole process
 * tree (wait4, through python3: Node cannot wait for a child itself), so nothing is missed
 * between two samples. Kinds are interleaved and each is run several times; medians are reported.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { APP, APP_DIR, provisionAccount, runConfigXml, startStandIns, validateConfigXml } from './harness.js';
import { appendRecords, blobPath, newTenant, startAzurite, streamingRecord } from '../test/helpers/azurite.js';

const RUNS = Number(process.env.BENCH_QUIET_RUNS ?? 7);
/** The targets: a quiet poll within these multiples of Node's own start. */
const CPU_FACTOR = 2.5;
const RSS_FACTOR = 1.5;

interface Cost {
  cpuMs: number;
  maxRssMb: number;
  code: number;
  stderr: string;
  /** Token requests the run made to the simulator's Entra ID. */
  tokenRequests?: number;
}

const WAIT4 = `
import os, subprocess, sys, json
child = subprocess.Popen(sys.argv[1:], close_fds=True)
_, status, usage = os.wait4(child.pid, 0)
os.write(3, json.dumps({"cpuMs": (usage.ru_utime + usage.ru_stime) * 1000, "maxRssMb": usage.ru_maxrss / 1024, "code": os.waitstatus_to_exitcode(status)}).encode())
`;

/** Runs a command with `stdin`, and returns its CPU time and peak RSS as the kernel counted them. */
function measure(command: string[], stdin: string, env: NodeJS.ProcessEnv): Promise<Cost> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', WAIT4, ...command], { stdio: ['pipe', 'ignore', 'pipe', 'pipe'], env });
    let out = '';
    let stderr = '';
    child.stdio[3]!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => reject(new Error(`python3 is needed to read a child's rusage: ${error.message}`)));
    child.on('close', () => {
      try {
        resolve({ ...(JSON.parse(out) as Omit<Cost, 'stderr'>), stderr });
      } catch {
        reject(new Error(`no rusage for ${command.join(' ')}: ${stderr}`));
      }
    });
    child.stdin!.end(stdin);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n: number, digits = 0) => n.toFixed(digits);

interface Kind {
  label: string;
  /** The command and its stdin, made anew for each run (a fresh checkpoint directory each time is not wanted: a quiet poll has one). */
  run: () => [string[], string];
  /** A successful counted run of this kind prints this on stderr (run 0 may differ: it fills the checkpoint). */
  expect?: RegExp;
}

export async function quietPollSection(): Promise<[string, boolean][]> {
  const [s, az] = await Promise.all([startStandIns(), startAzurite()]);
  const verdicts: [string, boolean][] = [];
  try {
    provisionAccount(s, 'prod');
    const splunkHome = path.join(s.workDir, 'splunk-home');
    mkdirSync(splunkHome, { recursive: true });
    // The benchmark's own environment for every program, node -e 0 included: NODE_EXTRA_CA_CERTS,
    // when set (as on this kind of machine, to the system's whole bundle), costs each Node.js
    // process ~50 ms of CPU at start (node -e 0: ~85 ms with it, ~30 ms without).
    const env = { ...process.env, SPLUNK_HOME: splunkHome };
    const launcher = (scheme: string) => path.join(APP_DIR, 'bin', `${scheme}.sh`);
    const now = new Date().toISOString();
    // One checkpoint directory per input, kept across runs: every run after the first is a steady, quiet poll.
    const poll = (scheme: string, params: Record<string, string>): (() => [string[], string]) => {
      const checkpointDir = mkdtempSync(path.join(s.workDir, `cp-${scheme}-`));
      return () => [[launcher(scheme)], runConfigXml(s, scheme, 'quiet', params, checkpointDir)];
    };
    s.splunkd.setPassword(APP, APP, 'defender_xdr_streaming_blob://quiet', az.key);
    // A real quiet run: the container exists and holds this hour's blob of a tenant, read to its
    // end by run 0 (before, the container was missing: one 404 list and a WARN, no day listing).
    const tenant = newTenant();
    await appendRecords(az.service, 'DeviceProcessEvents', blobPath(tenant, new Date()), Array.from({ length: 100 }, (_, i) => streamingRecord('DeviceProcessEvents', i, tenant)));
    const kinds: Kind[] = [
      { label: 'node -e 0', run: () => [[process.execPath, '-e', '0'], ''] },
      { label: 'Graph alerts', run: poll('defender_xdr_alerts', { account: 'prod', start_date: now }), expect: /INFO Poll finished .*emitted=0/ },
      { label: 'Graph incidents', run: poll('defender_xdr_incidents', { account: 'prod', start_date: now }), expect: /INFO Poll finished .*emitted=0/ },
      { label: 'Defender for Endpoint alerts', run: poll('defender_endpoint_alerts', { account: 'prod', start_date: now }), expect: /INFO Poll finished .*emitted=0/ },
      {
        label: 'streaming blob, nothing new',
        run: poll('defender_xdr_streaming_blob', { storage_account: az.account, blob_endpoint: az.endpoint, ca_file: az.caFile, tables: 'DeviceProcessEvents' }),
        expect: /INFO Poll finished .*emitted=0 .*blobs_tracked=1/,
      },
      { label: '--validate-arguments', run: () => [[launcher('defender_xdr_alerts'), '--validate-arguments'], validateConfigXml(s, 'defender_xdr_alerts://quiet', { account: 'prod' })] },
      { label: '--scheme', run: () => [[launcher('defender_xdr_alerts'), '--scheme'], ''] },
    ];
    const costs = new Map<string, Cost[]>(kinds.map((k) => [k.label, []]));
    // Run 0 of each kind is not counted: it writes the code cache, the first checkpoint and (Graph
    // and Defender for Endpoint) the kept token; the measured runs are the steady state.
    for (let run = 0; run <= RUNS; run++) {
      for (const kind of kinds) {
        const [command, stdin] = kind.run();
        const before = s.graph.requests.length;
        const cost = await measure(command, stdin, env);
        cost.tokenRequests = s.graph.requests.slice(before).filter((r) => r.path.endsWith('/oauth2/v2.0/token')).length;
        if (cost.code !== 0 || (run > 0 && kind.expect && !kind.expect.test(cost.stderr))) throw new Error(`quiet poll "${kind.label}" failed (exit ${cost.code}): ${cost.stderr}`);
        if (run > 0) costs.get(kind.label)!.push(cost);
      }
    }
    const node = costs.get('node -e 0')!;
    const nodeCpu = median(node.map((c) => c.cpuMs));
    const nodeRss = median(node.map((c) => c.maxRssMb));
    const rows = kinds.map((kind) => {
      const cpu = median(costs.get(kind.label)!.map((c) => c.cpuMs));
      const rss = median(costs.get(kind.label)!.map((c) => c.maxRssMb));
      return { kind, cpu, rss };
    });
    const extra = process.env.NODE_EXTRA_CA_CERTS ? `NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}` : 'no NODE_EXTRA_CA_CERTS';
    console.log(`\nquiet poll: CPU and peak RSS from rusage, medians of ${RUNS} interleaved runs, against node -e 0 in the same run (${extra})`);
    // Token requests of the measured runs, counted at the simulator: a poll after the warm-up one
    // finds its token kept (src/microsoft/tokenCache.ts, SPLUNK_HOME is set) and asks for none.
    console.log('| program | CPU | x node | peak RSS | x node | token requests (measured runs) |');
    console.log('|---|---|---|---|---|---|');
    for (const { kind, cpu, rss } of rows) {
      const tokens = costs.get(kind.label)!.reduce((sum, c) => sum + (c.tokenRequests ?? 0), 0);
      console.log(`| ${kind.label} | ${fmt(cpu)} ms | ${fmt(cpu / nodeCpu, 2)} | ${fmt(rss, 1)} MB | ${fmt(rss / nodeRss, 2)} | ${tokens} in ${RUNS} |`);
    }
    for (const { kind, cpu, rss } of rows.slice(1)) {
      verdicts.push([`quiet poll, ${kind.label}: CPU <= ${CPU_FACTOR} x node -e 0 (x${fmt(cpu / nodeCpu, 2)})`, cpu <= CPU_FACTOR * nodeCpu]);
      verdicts.push([`quiet poll, ${kind.label}: peak RSS <= ${RSS_FACTOR} x node -e 0 (x${fmt(rss / nodeRss, 2)})`, rss <= RSS_FACTOR * nodeRss]);
    }
  } finally {
    await Promise.all([s.stop(), az.stop()]);
  }
  return verdicts;
}
