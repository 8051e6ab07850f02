/**
 * The Blob REST client (src/azure/blobRest.ts) against Azurite over https, which checks Shared Key
 * signatures and SAS tokens as the service does: listing page after page with a small maxresults,
 * by hierarchy, ranged reads (bytes of multi-byte characters split), the service's error codes,
 * and a retried request signed anew through the https fault proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BlobRest, StorageError, type BlobEntry, type PrefixEntry } from '../../src/azure/blobRest.js';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/splunk/log.js';
import { HttpsFaultProxy } from '../helpers/httpsFaultProxy.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';

let az: Azurite;
let http: HttpClient;
let proxy: HttpsFaultProxy;
const logged: string[] = [];
const CONTAINER = 'insights-logs-advancedhunting-blobrest';
const TEXT = 'héllo wörld 文件\r\n'.repeat(50);

before(async () => {
  az = await startAzurite();
  http = new HttpClient({ logger: createLogger({ write: (line) => logged.push(line) }), caFile: az.caFile, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, maxRetryAfterMs: 10 } });
  proxy = new HttpsFaultProxy(az.endpoint, { key: readFileSync(path.join(az.dir, 'key.pem'), 'utf8'), cert: readFileSync(az.caFile, 'utf8') });
  await proxy.start();
  const container = az.service.getContainerClient(CONTAINER);
  await container.create();
  for (const name of ['top.json', 'tenantId=a/y=2026/m=01/d=01/PT1H.json', 'tenantId=a/y=2026/m=01/d=02/PT1H.json', 'tenantId=b/y=2026/m=01/d=01/PT1H.json', "odd name & 'quote' +plus%.json"]) {
    await container.getBlockBlobClient(name).upload(TEXT, Buffer.byteLength(TEXT));
  }
  await az.service.getContainerClient('insights-logs-advancedhunting-other').create();
  await az.service.getContainerClient('unrelated').create();
});
after(async () => {
  await http?.close();
  await proxy?.stop();
  await az?.stop();
});

const sharedKey = (endpoint = az.endpoint, key = Buffer.from(az.key, 'base64')) => new BlobRest(http, endpoint, { kind: 'shared_key', account: az.account, key });
const all = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};
const names = (items: (BlobEntry | PrefixEntry)[]) => items.map((i) => `${i.kind}:${i.name}`).sort();

describe('Blob REST client against Azurite', () => {
  test('listing pages with a small maxresults: every blob once, sizes and dates as the service has them', async () => {
    const before = http.stats.requests;
    const flat = await all(sharedKey().listBlobs(CONTAINER, { maxResults: 2 }));
    assert.equal(http.stats.requests - before, 3, 'five blobs in pages of two');
    assert.deepEqual(names(flat), ["blob:odd name & 'quote' +plus%.json", 'blob:tenantId=a/y=2026/m=01/d=01/PT1H.json', 'blob:tenantId=a/y=2026/m=01/d=02/PT1H.json', 'blob:tenantId=b/y=2026/m=01/d=01/PT1H.json', 'blob:top.json']);
    const props = await az.service.getContainerClient(CONTAINER).getBlobClient('top.json').getProperties();
    const top = flat.find((b) => b.name === 'top.json') as BlobEntry;
    assert.equal(top.size, Buffer.byteLength(TEXT));
    assert.equal(top.lastModifiedMs, props.lastModified?.getTime());
  });

  test('by hierarchy and by prefix, paged too', async () => {
    assert.deepEqual(names(await all(sharedKey().listBlobs(CONTAINER, { delimiter: '/', maxResults: 1 }))), ["blob:odd name & 'quote' +plus%.json", 'blob:top.json', 'prefix:tenantId=a/', 'prefix:tenantId=b/']);
    assert.deepEqual(names(await all(sharedKey().listBlobs(CONTAINER, { prefix: 'tenantId=a/y=2026/m=01/d=02/' }))), ['blob:tenantId=a/y=2026/m=01/d=02/PT1H.json']);
    assert.deepEqual(await all(sharedKey().listBlobs(CONTAINER, { prefix: 'tenantId=c/' })), []);
  });

  test('containers by prefix, paged', async () => {
    assert.deepEqual(await all(sharedKey().listContainers('insights-logs-advancedhunting-', 1)), [CONTAINER, 'insights-logs-advancedhunting-other']);
  });

  test('ranges: exactly the bytes asked for, multi-byte characters split where the range ends; odd names read too', async () => {
    const bytes = Buffer.from(TEXT);
    const rest = sharedKey();
    const parts: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 100) parts.push(Buffer.from(await rest.getRange(CONTAINER, 'tenantId=a/y=2026/m=01/d=01/PT1H.json', at, Math.min(100, bytes.length - at))));
    assert.ok(parts.slice(0, -1).every((p) => p.length === 100));
    assert.ok(Buffer.concat(parts).equals(bytes));
    assert.ok((await rest.getRange(CONTAINER, "odd name & 'quote' +plus%.json", 3, 7)).equals(bytes.subarray(3, 10)));
  });

  test('a SAS token authorizes without signing; a container-scoped one cannot list containers', async () => {
    const sas = new BlobRest(http, az.endpoint, { kind: 'sas', token: az.sas() });
    assert.equal((await all(sas.listBlobs(CONTAINER))).length, 5);
    assert.ok((await sas.getRange(CONTAINER, 'top.json', 0, 5)).equals(Buffer.from(TEXT).subarray(0, 5)));
    const tampered = new BlobRest(http, az.endpoint, { kind: 'sas', token: az.sas().replace(/sig=[^&]+/, 'sig=AAAA') });
    // Azure answers a bad signature AuthenticationFailed; Azurite, AuthorizationFailure.
    await assert.rejects(all(tampered.listBlobs(CONTAINER)), (e: StorageError) => e.status === 403 && e.code === 'AuthorizationFailure');
  });

  test("the service's refusals carry its code: a wrong key is refused (Azurite: AuthorizationFailure), a missing container ContainerNotFound, a missing blob BlobNotFound", async () => {
    const wrong = sharedKey(az.endpoint, Buffer.alloc(64, 7));
    await assert.rejects(all(wrong.listBlobs(CONTAINER)), (e: StorageError) => {
      assert.equal(e.status, 403);
      // Azure's code for a signature made with another key is AuthenticationFailed (its message: unit test streaming-blob).
      assert.equal(e.code, 'AuthorizationFailure');
      assert.match(e.message, /^HTTP 403 AuthorizationFailure: Server failed to authenticate the request/);
      return true;
    });
    await assert.rejects(all(sharedKey().listBlobs('insights-logs-advancedhunting-nothere')), (e: StorageError) => e.status === 404 && e.code === 'ContainerNotFound');
    await assert.rejects(sharedKey().getRange(CONTAINER, 'nothere.json', 0, 10), (e: StorageError) => e.status === 404 && e.code === 'BlobNotFound');
  });

  test('a retried request is signed anew for its attempt, and a truncated body is read again', async () => {
    const through = sharedKey(proxy.rewrite(az.endpoint));
    const retriesBefore = http.stats.retries;
    proxy.faults.push({ kind: 'busy', match: /comp=list/ }, { kind: 'truncate', match: /PT1H\.json/ });
    assert.equal((await all(through.listBlobs(CONTAINER))).length, 5);
    assert.ok((await through.getRange(CONTAINER, 'tenantId=b/y=2026/m=01/d=01/PT1H.json', 0, 200)).equals(Buffer.from(TEXT).subarray(0, 200)));
    assert.equal(proxy.fired.busy + proxy.fired.truncate, 2);
    assert.equal(http.stats.retries - retriesBefore, 2);
    assert.ok(!logged.join('\n').includes('sig='), 'no SAS or signature logged with the retries');
  });
});
