/**
 * End to end: `| defenderhunt` through its built launcher, driven with the chunked protocol as
 * splunkd drives it (getinfo, then execute until finished), calling the add-on's persistent REST
 * endpoint (restmap.conf) served by the splunkd stand-in through the built handler's launcher.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { APP_DIR, provisionAccount, startStandIns, type StandIns } from '../../tools/harness.js';
import type { PersistentEndpoint } from '../../tools/simulator/persistentEndpoint.js';
import { ChunkReader, encodeChunk, type Chunk } from '../../src/hunt/chunked.js';

let s: StandIns;
let endpoint: PersistentEndpoint;
let splunkHome: string;
const HUNTER_KEY = 'hunter-session-0123456789abcdef';
const ANALYST_KEY = 'analyst-session-0123456789abcdef';

before(async () => {
  assert.ok(existsSync(path.join(APP_DIR, 'bin', 'lib', 'defenderhunt.js')), 'run npm run build first (npm test does)');
  s = await startStandIns();
  provisionAccount(s, 'prod');
  splunkHome = mkdtempSync(path.join(s.workDir, 'home-'));
  // Where the handler's audit lines go, as on a Splunk host.
  mkdirSync(path.join(splunkHome, 'var', 'log', 'splunk'), { recursive: true });
  endpoint = s.splunkd.registerPersistentEndpoint({
    match: 'defender_xdr/hunt',
    capability: 'defender_xdr_hunt',
    driver: path.join(APP_DIR, 'bin', 'defender_xdr_hunt_handler.sh'),
    script: path.join(APP_DIR, 'bin', 'lib', 'defender_xdr_hunt_handler.js'),
    env: { SPLUNK_HOME: splunkHome },
  });
  s.splunkd.addUser('hunter', HUNTER_KEY, ['defender_xdr_hunt']);
  s.splunkd.addUser('analyst', ANALYST_KEY, []);
  const now = Date.now();
  s.graph.hunting.addProcessEvents(120, now - 20 * 3_600_000, now - 60_000);
});
after(async () => s?.stop());

/** Runs the command as splunkd does: getinfo, then execute until finished (at most `maxExecutes`). */
async function search(args: string[], sessionKey: string, username: string, afterGetinfo?: () => void): Promise<{ replies: Chunk[]; code: number | null; stderr: string; stdout: string }> {
  const child = spawn(path.join(APP_DIR, 'bin', 'defenderhunt.sh'), [], { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const reader = new ChunkReader();
  const replies: Chunk[] = [];
  let stdout = '';
  let stderr = '';
  let waiting: (() => void) | undefined;
  child.stdout.on('data', (data: Buffer) => {
    stdout += data.toString('utf8');
    replies.push(...reader.push(data));
    waiting?.();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const reply = async (count: number) => {
    while (replies.length < count) await new Promise<void>((resolve) => (waiting = resolve));
    return replies[count - 1]!;
  };
  const now = Date.now() / 1000;
  child.stdin.write(encodeChunk({
    action: 'getinfo', preview: false, streaming_command_will_restart: false,
    searchinfo: { args, raw_args: args, sid: '1700000000.42', app: 'search', owner: username, username, session_key: sessionKey, splunkd_uri: s.splunkd.serverUri, dispatch_dir: s.workDir, search: `| defenderhunt ${args.join(' ')}`, maxresultrows: 50, earliest_time: String(now - 2 * 86_400), latest_time: String(now) },
  }));
  let info = await reply(1);
  afterGetinfo?.();
  if (info.metadata.finished !== true) {
    for (let n = 2; n < 10; n++) {
      child.stdin.write(encodeChunk({ action: 'execute', finished: false }));
      info = await reply(n);
      if (info.metadata.finished === true) break;
    }
  }
  child.stdin.end();
  return { replies, code: await closed, stderr, stdout };
}

describe('| defenderhunt', () => {
  test('getinfo makes no API call; execute streams the rows back in chunks of maxresultrows, typed, with _time', async () => {
    const calls = s.graph.hunting.calls.length;
    const endpointCalls = () => s.splunkd.requests.filter((q) => q.path.endsWith('/defender_xdr/hunt')).length;
    const before = endpointCalls();
    const r = await search(['account=prod', 'query=DeviceProcessEvents | take 120'], HUNTER_KEY, 'hunter', () => {
      assert.equal(endpointCalls(), before, 'no hunt at getinfo');
      assert.equal(s.graph.hunting.calls.length, calls, 'no call to Microsoft at getinfo');
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.replies[0]!.metadata, { type: 'stateful', generating: true });
    const data = r.replies.slice(1);
    assert.deepEqual(data.map((c) => c.metadata.finished), [false, false, true]);
    const rows = data.flatMap((c) => (c.body ? (parse(c.body, { columns: true }) as Record<string, string>[]) : []));
    assert.deepEqual(data.map((c) => (c.body ? parse(c.body, { columns: true }).length : 0)), [50, 50, 20]);
    assert.equal(new Set(rows.map((row) => row.ReportId)).size, 120);
    assert.match(rows[0]!.ProcessId!, /^\d+$/);
    assert.deepEqual(Object.keys(JSON.parse(rows[0]!.AdditionalFields!)), ['integrity']);
    assert.equal(Number(rows[0]!._time), Date.parse(rows[0]!.Timestamp!.replace(/(\.\d{3})\d+Z$/, '$1Z')) / 1000);
    // One hunt, over the search's time range.
    assert.equal(s.graph.hunting.calls.length, calls + 1);
    assert.match(s.graph.hunting.calls.at(-1)!.timespan ?? '', /^\d{4}-.*Z\/\d{4}-.*Z$/);
    const log = readFileSync(path.join(splunkHome, 'var', 'log', 'splunk', 'ta_defender_xdr.log'), 'utf8');
    assert.match(log, /INFO Hunt .*user=hunter account=prod query_hash=[0-9a-f]{16} .*rows=120 .*duration_ms=\d+/);
    for (const text of [r.stdout, r.stderr, endpoint.stderr, log]) assert.ok(!text.includes(s.clientSecret), 'secret leaked');
  });

  test("Microsoft's error text reaches the search's messages; the command exits 1", async () => {
    const r = await search(['account=prod', 'query=DeviceProcessEvents | wher x == 1'], HUNTER_KEY, 'hunter');
    assert.equal(r.code, 1);
    const messages = (r.replies.at(-1)!.metadata.inspector as { messages: [string, string][] }).messages;
    assert.equal(messages[0]![0], 'ERROR');
    assert.match(messages[0]![1], /Microsoft refused the query: Query could not be parsed at 'wher'/);
    const bad = await search(['account=prod'], HUNTER_KEY, 'hunter');
    assert.match(JSON.stringify(bad.replies[0]!.metadata), /query is required/);
  });

  test('a user without the capability is refused clearly and never sees the secret', async () => {
    const calls = s.graph.hunting.calls.length;
    const r = await search(['account=prod', 'query=DeviceProcessEvents | take 1'], ANALYST_KEY, 'analyst');
    assert.equal(r.code, 1);
    const text = JSON.stringify(r.replies.at(-1)!.metadata);
    assert.match(text, /does not have the capability 'defender_xdr_hunt'.*role defender_xdr_hunter/);
    assert.equal(s.graph.hunting.calls.length, calls, 'no hunt ran');
    for (const out of [r.stdout, r.stderr, endpoint.stderr]) assert.ok(!out.includes(s.clientSecret) && !out.includes(s.sessionKey), 'secret leaked');
    // Nor could the user read it directly: storage/passwords needs list_storage_passwords.
    const response = await fetch(`${s.splunkd.serverUri}/servicesNS/nobody/TA-defender-xdr/storage/passwords?output_mode=json`, { headers: { authorization: `Splunk ${ANALYST_KEY}` } });
    assert.equal(response.status, 403);
  });
});
