/** The pure parts of hunting: waits on 429, result shapes, query windowing, the two wire protocols, the simulator's Timespan. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { normaliseResult, throttleWaitMs } from '../../src/microsoft/hunting.js';
import { leadingTable, queryHash, windowedQuery, windowTimespan } from '../../src/sources/graph-hunting/query.js';
import { ChunkReader, encodeChunk, toCsv } from '../../src/hunt/chunked.js';
import { parseArgs, searchTimespan } from '../../src/hunt/command.js';
import { frame, PacketReader, requestPacket, servePersistent } from '../../src/hunt/persistconn.js';
import { parseTimespan } from '../../tools/simulator/hunting.js';

const T0 = Date.parse('2026-12-02T10:07:30Z');

describe('throttleWaitMs', () => {
  test('Retry-After first (seconds or a date), then the CPU message, then the next quarter hour', () => {
    assert.equal(throttleWaitMs('7', 'whatever', T0), 7000);
    assert.equal(throttleWaitMs(new Date(T0 + 12_000).toUTCString(), '', T0), 12_000);
    const cpu = 'You have exceeded processing resources allocated to this tenant. You can run queries again in 00:14:05.';
    assert.equal(throttleWaitMs(undefined, cpu, T0), (14 * 60 + 5) * 1000);
    assert.equal(throttleWaitMs(undefined, 'You can run queries again in 1.02:00:00.', T0), 26 * 3_600_000);
    assert.equal(throttleWaitMs(undefined, 'You can run queries again in 90 seconds.', T0), 90_000);
    assert.equal(throttleWaitMs(undefined, 'You can run queries again in 2 minutes', T0), 120_000);
    // 10:07:30 -> 10:15:00
    assert.equal(throttleWaitMs(undefined, 'You have exceeded processing resources allocated to this tenant.', T0), 450_000);
  });
});

test('schema columns are read in both casings Microsoft uses', () => {
  assert.deepEqual(normaliseResult({ schema: [{ Name: 'A', Type: 'String' }, { name: 'B', type: 'Int64' }], results: [{ A: 'x', B: 1 }] }), {
    schema: [{ name: 'A', type: 'String' }, { name: 'B', type: 'Int64' }],
    results: [{ A: 'x', B: 1 }],
  });
  assert.deepEqual(normaliseResult({}), { schema: [], results: [] });
});

describe('query windowing', () => {
  test('the table is the first token; queries that do not start with one are recognised', () => {
    assert.equal(leadingTable('DeviceProcessEvents | where x == 1'), 'DeviceProcessEvents');
    assert.equal(leadingTable('  AlertInfo'), 'AlertInfo');
    assert.equal(leadingTable('let x = 1; DeviceProcessEvents'), undefined);
    assert.equal(leadingTable('union DeviceProcessEvents, DeviceFileEvents'), undefined);
    assert.equal(leadingTable('search "1.1.1.1"'), undefined);
  });

  test('the window goes right after the table; the rest follows as typed; the Timespan bounds the scan', () => {
    const window = { afterMs: T0, toMs: T0 + 3_600_000, timestampFloorMs: T0 - 14_400_000 };
    assert.equal(
      windowedQuery('DeviceProcessEvents | where FileName =~ "a" | project A, IngestionTime', 'DeviceProcessEvents', window),
      'DeviceProcessEvents\n| where Timestamp >= datetime(2026-12-02T06:07:30.0000000Z) and ingestion_time() > datetime(2026-12-02T10:07:30.0000000Z) and ingestion_time() <= datetime(2026-12-02T11:07:30.0000000Z)\n| extend IngestionTime = ingestion_time()\n| where FileName =~ "a" | project A, IngestionTime',
    );
    assert.equal(windowTimespan(window, T0 + 86_400_000), '2026-12-02T06:07:30.0000000Z/2026-12-02T12:07:30.0000000Z');
    assert.equal(windowTimespan(window, T0 + 3_700_000), '2026-12-02T06:07:30.0000000Z/2026-12-02T11:09:10.0000000Z');
    assert.equal(queryHash(' A | take 1\r\n'), queryHash('A | take 1'));
    assert.notEqual(queryHash('A | take 1'), queryHash('A | take 2'));
  });
});

describe('the search command', () => {
  test('arguments as splunkd passes them; errors say the syntax', () => {
    assert.deepEqual(parseArgs(['account=prod', 'query=DeviceInfo | take 5', 'max_rows=10']), { account: 'prod', query: 'DeviceInfo | take 5', timespan: undefined, maxRows: 10 });
    assert.throws(() => parseArgs(['account=prod']), /query is required/);
    assert.throws(() => parseArgs(['account=prod', 'query=x', 'max_rows=0']), /max_rows must be a whole number/);
    assert.throws(() => parseArgs(['account=prod', 'query=x', 'limit=3']), /Unknown argument "limit"/);
    assert.equal(searchTimespan('1764669600', '1764673200'), '2025-12-02T10:00:00.000Z/2025-12-02T11:00:00.000Z');
    assert.equal(searchTimespan('0', ''), undefined);
  });

  test('chunks are framed in UTF-8 bytes and read back across split reads; CSV quotes what needs it', () => {
    const chunk = encodeChunk({ finished: false, note: 'é' }, 'a,b\r\n"x,1",é\r\n');
    const reader = new ChunkReader();
    assert.deepEqual(reader.push(chunk.subarray(0, 10)), []);
    const [read] = reader.push(chunk.subarray(10));
    assert.deepEqual(read, { metadata: { finished: false, note: 'é' }, body: 'a,b\r\n"x,1",é\r\n' });
    assert.equal(toCsv(['a', 'b'], [{ a: 'x,1', b: 'say "hi"\nthere' }]), 'a,b\r\n"x,1","say ""hi""\nthere"\r\n');
    assert.equal(toCsv(['a'], []), '');
  });
});

test('persistconn: a request packet is read back whole, and the server answers start and block', async () => {
  const packet = requestPacket(['/opt/splunk/etc/apps/x/bin/lib/h.js'], '{"method":"POST"}');
  const reader = new PacketReader();
  assert.deepEqual(reader.push(packet.subarray(0, 7)), []);
  const [read] = reader.push(packet.subarray(7));
  assert.equal(read!.opcode, 0x07);
  assert.deepEqual(read!.command, ['/opt/splunk/etc/apps/x/bin/lib/h.js']);
  assert.equal(read!.block!.toString(), '{"method":"POST"}');

  const input = new PassThrough();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  const served = servePersistent(input, output, async (request) => ({ status: 200, payload: String(request.method) }));
  input.end(packet);
  await served;
  assert.equal(Buffer.concat(chunks).toString(), Buffer.concat([frame(''), frame('{"status":200,"payload":"POST"}')]).toString());
});

test('the simulator reads every Timespan form of the docs', () => {
  const now = T0;
  assert.deepEqual(parseTimespan(undefined, now), { start: now - 30 * 86_400_000, end: now });
  assert.deepEqual(parseTimespan('P1D', now), { start: now - 86_400_000, end: now });
  assert.deepEqual(parseTimespan('2026-12-01T00:00:00Z/2026-12-02T00:00:00Z', now), { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2026-12-02T00:00:00Z') });
  assert.deepEqual(parseTimespan('PT2H/2026-12-02T00:00:00Z', now), { start: Date.parse('2026-12-01T22:00:00Z'), end: Date.parse('2026-12-02T00:00:00Z') });
  assert.deepEqual(parseTimespan('2026-12-01T00:00:00Z/P1D', now), { start: Date.parse('2026-12-01T00:00:00Z'), end: Date.parse('2026-12-02T00:00:00Z') });
  assert.deepEqual(parseTimespan('2026-12-01T00:00:00Z', now), { start: Date.parse('2026-12-01T00:00:00Z'), end: now });
  assert.throws(() => parseTimespan('yesterday', now));
});
