/** Pure parts of the blob input: line splitting, the per-blob checkpoint and forgetting, record mapping, table names. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FORGET_AFTER_MS, forgetFinished, initialCheckpoint, isBlobCheckpoint, startOffset, type BlobCheckpoint } from '../../src/sources/streaming-blob/blobCheckpoint.js';
import { blobParamsProblem } from '../../src/sources/streaming-blob/definition.js';
import { completeLines, isWholeRecord, lineBatches, linesEnd } from '../../src/sources/streaming-blob/lines.js';
import { storageError } from '../../src/sources/streaming-blob/index.js';
import { storageErrorOf } from '../../src/azure/blobRest.js';
import { HttpError, NetworkError } from '../../src/http/errors.js';
import { parseTables, tablesRule } from '../../src/sources/streaming/args.js';
import { containerOfTable, recordEvent, tableOfContainer } from '../../src/sources/streaming/records.js';

describe('complete lines', () => {
  test('CRLF and LF lines are split at the last line end; the rest waits', () => {
    const r = completeLines(Buffer.from('{"a":1}\r\n{"b":"ü"}\n\r\n{"c":'));
    assert.deepEqual(r.lines, ['{"a":1}', '{"b":"ü"}']);
    assert.equal(r.consumed, Buffer.byteLength('{"a":1}\r\n{"b":"ü"}\n\r\n'));
    assert.deepEqual(completeLines(Buffer.from('{"partial":')), { lines: [], consumed: 0 });
  });

  test('line batches: the same lines as the range decoded at once, each batch within its bytes unless one line is longer', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 500; i++) {
      const lines = Array.from({ length: Math.floor(random() * 40) }, (_, n) => (random() < 0.1 ? ' ' : `{"n":${n},"t":"${'ü'.repeat(Math.floor(random() * 60))}"}`));
      const text = lines.map((l) => l + (random() < 0.5 ? '\r\n' : '\n')).join('') + (random() < 0.5 ? '{"unfinished":' : '');
      const buffer = Buffer.from(text);
      const end = linesEnd(buffer);
      const batchBytes = 1 + Math.floor(random() * 200);
      const batches = [...lineBatches(buffer, end, batchBytes)];
      assert.deepEqual(batches.flat(), completeLines(buffer).lines);
      assert.equal(end, completeLines(buffer).consumed);
      for (const batch of batches) {
        const bytes = batch.reduce((sum, line) => sum + Buffer.byteLength(line) + 2, 0);
        assert.ok(batch.length === 1 || bytes <= batchBytes + 2 * batch.length, `a batch of ${batch.length} lines spans ${bytes} bytes (at most ${batchBytes})`);
        assert.ok(batch.length > 0);
      }
    }
    assert.deepEqual([...lineBatches(Buffer.from('{"a":1}\n{"b":2}\n{"c":3}\n'), 24, 16)], [['{"a":1}', '{"b":2}'], ['{"c":3}']]);
    assert.deepEqual([...lineBatches(Buffer.from('{"a":1}\n'), 8, 3)], [['{"a":1}']], 'a line longer than a batch is a batch of its own');
    assert.deepEqual([...lineBatches(Buffer.from('{"partial":'), 0)], []);
  });

  test('a whole record without its newline is complete; a record being written is not', () => {
    assert.equal(isWholeRecord('{"a":{"b":1}}\r'), true);
    assert.equal(isWholeRecord('{"a":{"b":1}'), false);
    assert.equal(isWholeRecord('{"a":"}"'), false);
    assert.equal(isWholeRecord('"just a string"'), false);
  });
});

describe('blob checkpoint', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const state = (): BlobCheckpoint => ({
    version: 1,
    horizon: new Date(now - 24 * 3600_000).toISOString(),
    blobs: {
      'c/done-old': { offset: 100, size: 100, modified: new Date(now - FORGET_AFTER_MS - 1).toISOString() },
      'c/done-recent': { offset: 100, size: 100, modified: new Date(now - 60_000).toISOString() },
      'c/partial-old': { offset: 50, size: 100, modified: new Date(now - FORGET_AFTER_MS - 1).toISOString() },
      'c/deleted-partial': { offset: 50, size: 100, modified: new Date(now - FORGET_AFTER_MS - 1).toISOString() },
    },
  });

  test('where a listed blob is read from', () => {
    const cp = state();
    assert.deepEqual(startOffset(cp, 'c/new', now, 10), { offset: 0, restarted: false });
    assert.equal(startOffset(cp, 'c/ancient', now - 48 * 3600_000, 10), undefined, 'unknown and before the horizon: done or before start_date');
    assert.deepEqual(startOffset(cp, 'c/partial-old', now, 120), { offset: 50, restarted: false });
    assert.deepEqual(startOffset(cp, 'c/partial-old', now, 20), { offset: 0, restarted: true }, 'shorter than what was read: replaced');
  });

  test('finished old blobs and vanished old ones are forgotten; the horizon only moves forward', () => {
    const cp = state();
    const forgotten = forgetFinished(cp, now, new Set(['c/done-old', 'c/done-recent', 'c/partial-old']));
    assert.equal(forgotten, 2);
    assert.deepEqual(Object.keys(cp.blobs).sort(), ['c/done-recent', 'c/partial-old']);
    assert.equal(cp.horizon, new Date(now - FORGET_AFTER_MS).toISOString());
    forgetFinished(cp, now - 10 * 3600_000, new Set());
    assert.equal(cp.horizon, new Date(now - FORGET_AFTER_MS).toISOString(), 'never back');
  });

  test('validation of the stored file', () => {
    assert.equal(isBlobCheckpoint(initialCheckpoint(now)), true);
    assert.equal(isBlobCheckpoint({ version: 1, horizon: 'soon', blobs: {} }), false);
    assert.equal(isBlobCheckpoint({ version: 1, horizon: '2024-05-01T00:00:00Z', blobs: { x: { offset: -1, size: 0, modified: '' } } }), false);
    assert.equal(isBlobCheckpoint({ version: 1, horizon: '2024-05-01T00:00:00Z', blobs: [] }), false);
  });
});

describe('records and tables', () => {
  test('columns first, envelope after; a clashing envelope key is renamed; odd records kept whole', () => {
    const e = recordEvent({ time: 't', tenantId: 'x', category: 'AdvancedHunting-DeviceInfo', properties: { Timestamp: '2024-05-01T00:00:00Z', time: 'column' } }, 'fallback', 5);
    assert.deepEqual(JSON.parse(String(e.data)), { Timestamp: '2024-05-01T00:00:00Z', time: 'column', record_time: 't', tenantId: 'x', category: 'AdvancedHunting-DeviceInfo' });
    assert.deepEqual([e.source, e.timeMs], ['DeviceInfo', Date.parse('2024-05-01T00:00:00Z')]);
    const bare = recordEvent({ category: 'AdvancedHunting-DeviceInfo', time: '2024-05-01T00:00:01Z', properties: 'not an object' }, 'fallback', 5);
    assert.deepEqual(JSON.parse(String(bare.data)).properties, 'not an object');
    assert.equal(bare.timeMs, Date.parse('2024-05-01T00:00:01Z'));
    assert.deepEqual(recordEvent([1, 2], 'DeviceEvents', 7), { timeMs: 7, data: '[1,2]', sourcetype: 'ms:defender:advancedhunting', source: 'DeviceEvents', index: undefined });
    assert.equal(recordEvent({ properties: { Timestamp: 'garbage' } }, 'T', 9).timeMs, 9);
  });

  test('the event text is exactly JSON.stringify of the flattened record, whatever the keys', () => {
    // The straightforward mapping the input's faster one must match byte for byte.
    const reference = (record: Record<string, unknown>) => {
      const properties = record.properties as Record<string, unknown>;
      const flat: Record<string, unknown> = { ...properties };
      for (const [key, value] of Object.entries(record)) if (key !== 'properties') flat[key in properties ? `record_${key}` : key] = value;
      return JSON.stringify(flat);
    };
    const records = [
      '{"time":"t","tenantId":"x","category":"AdvancedHunting-DeviceInfo","properties":{"Timestamp":"2024-05-01T00:00:00Z","A":[1,{"b":null}],"Path":"C:\\\\x <&>","N":1.5e300}}',
      '{"properties":{"time":"column","DeviceName":"h"},"time":"envelope","record_time":"kept"}',
      '{"time":"t","properties":{}}',
      '{"properties":{"A":1}}',
      '{"properties":{}}',
      '{"properties":{"2":"b","1":"a","Z":0},"7":"envelope index","x":1}',
      '{"constructor":"inherited name","toString":1,"properties":{"A":1}}',
      '{"__proto__":{"a":1},"properties":{"A":1}}',
      '{"properties":{"__proto__":{"a":1},"A":1},"x":2}',
      '{"a":1,"properties":{"A":1},"a":2,"properties":{"B":2}}',
    ];
    for (const line of records) {
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.equal(recordEvent(JSON.parse(line), 'T', 0).data, reference(record), line);
    }
    const record = JSON.parse(records[0]) as Record<string, unknown>;
    recordEvent(record, 'T', 0);
    assert.deepEqual(record, JSON.parse(records[0]), 'the record is left as it was');
  });

  test('_time is what eventTimeMs makes of Timestamp, for every form', async () => {
    const { eventTimeMs } = await import('../../src/sources/windowedPoll.js');
    const times = ['2024-05-01T10:00:00.1234567Z', '2024-05-01T10:00:00.1234567Z', '2024-05-01T10:00:00.9Z', '2024-05-01T10:00:00.05Z', '2024-05-01T10:00:01Z', '2024-05-01T10:00:01.123456789Z',
      '2024-02-30T10:00:00.5Z', '2024-13-01T10:00:00Z', '2024-05-01T24:00:00.5Z', '2024-05-01T23:59:60.5Z', ' 2024-05-01T10:00:00.5Z', '2024-05-01T12:00:00.5+02:00', '2024-05-01', 'garbage', '1969-12-31T23:59:59.999Z'];
    for (const Timestamp of times) assert.equal(recordEvent({ properties: { Timestamp } }, 'T', 42).timeMs, eventTimeMs(Timestamp, 42), Timestamp);
  });

  test('table names, containers and the tables parameter', () => {
    assert.equal(tableOfContainer('insights-logs-advancedhunting-deviceprocessevents'), 'DeviceProcessEvents');
    assert.equal(tableOfContainer('insights-logs-advancedhunting-newtable'), 'newtable');
    assert.equal(containerOfTable('EmailEvents'), 'insights-logs-advancedhunting-emailevents');
    assert.deepEqual(parseTables(' deviceprocessevents, EmailEvents,DeviceProcessEvents '), ['DeviceProcessEvents', 'EmailEvents']);
    assert.match(tablesRule('DeviceProcessEvents, Processes') ?? '', /unknown table "Processes"/);
    assert.match(tablesRule(' , ') ?? '', /at least one/);
  });

  test('parameter combinations', () => {
    assert.equal(blobParamsProblem({ storage_account: 'acct' }), undefined);
    assert.match(blobParamsProblem({}) ?? '', /storage_account.*required with auth_type = account_key/);
    assert.equal(blobParamsProblem({ auth_type: 'sas_token', blob_endpoint: 'https://x.example' }), undefined);
    assert.equal(blobParamsProblem({ auth_type: 'connection_string' }), undefined);
    assert.match(blobParamsProblem({ auth_type: 'connection_string', blob_endpoint: 'https://x' }) ?? '', /leave it empty/);
  });
});

describe('storage errors', () => {
  const URL_WITH_SAS = 'https://contoso.blob.core.windows.net/insights-logs-advancedhunting-alertinfo?restype=container&comp=list&sv=2024&sig=s3cr3t';
  // The service's error body: code, message with request id and time, and (for a bad signature) the string it signed.
  const body = (code: string, message: string, detail = '') =>
    `\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:0f1e\nTime:2026-12-03T07:00:00.0000000Z</Message>${detail}</Error>`;
  const failed = (status: number, code: string, message: string, detail = '', headers: Record<string, string> = { 'x-ms-error-code': code }) =>
    storageError(storageErrorOf(new HttpError(status, URL_WITH_SAS, undefined, body(code, message, detail), headers)), 'list the blobs of c').message;

  test("each refusal the service explains says what to check; nothing of the request's signature or SAS", () => {
    const wrongKey = failed(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.', "<AuthenticationErrorDetail>The MAC signature found in the HTTP request 'c2lnbmF0dXJl' is not the same as any computed signature. Server used following string to sign: 'GET'.</AuthenticationErrorDetail>");
    assert.equal(wrongKey, "Cannot list the blobs of c: access denied (403 AuthenticationFailed). Check the key, SAS token (copied whole, not expired) or connection string, and this host's clock (requests are refused 15 minutes off).");
    assert.match(failed(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.'), /403 AuthorizationPermissionMismatch\)\. Check the key, SAS token \(permissions List\+Read\)/);
    assert.match(failed(403, 'AuthorizationResourceTypeMismatch', 'This request is not authorized to perform this operation using this resource type.'), /resource types: Container and Object/);
    assert.match(failed(403, 'AuthorizationFailure', 'This request is not authorized to perform this operation.'), /the account's firewall \(Networking/);
    assert.match(failed(403, 'SomethingNew', 'x', '', {}), /403 SomethingNew\)\. Check the key, SAS token \(expiry, permissions List\+Read, allowed IPs\) or the account's firewall/, 'the code read from the body when the header is missing');
    assert.equal(failed(404, 'ContainerNotFound', 'The specified container does not exist.'), 'Cannot list the blobs of c: not found (404 ContainerNotFound). Check storage_account / blob_endpoint and tables.');
    assert.equal(failed(503, 'ServerBusy', 'The server is busy.'), 'Cannot list the blobs of c: HTTP 503 ServerBusy: The server is busy.');
    for (const text of [wrongKey, failed(503, 'ServerBusy', 'The server is busy.')]) assert.ok(!/s3cr3t|c2lnbmF0dXJl|string to sign|RequestId/.test(text), text);
  });

  test('a network failure keeps its hint and no query string', () => {
    const message = storageError(storageErrorOf(new NetworkError('ECONNREFUSED: connect ECONNREFUSED 10.0.0.1:443', URL_WITH_SAS, 'ECONNREFUSED')), 'list the blobs of c').message;
    assert.match(message, /^Cannot list the blobs of c: ECONNREFUSED: connect ECONNREFUSED .*\(https:\/\/contoso\.blob\.core\.windows\.net\/insights-logs-advancedhunting-alertinfo\)\. The host cannot be reached/);
    assert.ok(!message.includes('s3cr3t'));
  });
});
