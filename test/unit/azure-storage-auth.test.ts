/**
 * The Blob REST client's credentials: Shared Key's string to sign, laid out as Microsoft's
 * "Authorize with Shared Key" page documents it (its own examples), the HMAC cross-checked with the
 * Azure Storage SDK's; and connection strings in the forms the portal gives. Against a service that
 * checks signatures: test/integration/blob-rest.test.ts (Azurite).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { canonicalizedHeaders, canonicalizedResource, sharedKeyAuthorization, stringToSign } from '../../src/azure/sharedKey.js';
import { accountOfEndpoint, parseStorageConnectionString } from '../../src/azure/storageConnectionString.js';
import { blobService } from '../../src/sources/streaming-blob/storage.js';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/splunk/log.js';

describe('Shared Key (Microsoft\'s documented layout)', () => {
  test('the documented Blob example: twelve lines, then the x-ms headers, then the resource with its sorted query', () => {
    // "Authorize with Shared Key", Blob service, version 2009-09-19 and later: a GET of a container's
    // metadata with x-ms-date and x-ms-version, the emulator's path-style URL (account twice).
    const url = new URL('https://127.0.0.1:10000/myaccount/mycontainer?restype=container&comp=metadata&timeout=20');
    const headers = { 'x-ms-date': 'Sun, 11 Oct 2009 21:49:13 GMT', 'x-ms-version': '2009-09-19' };
    assert.equal(
      stringToSign('GET', url, headers, 'myaccount'),
      'GET\n' + '\n'.repeat(11) + 'x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n' + '/myaccount/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20',
    );
  });

  test('the documented canonicalized resources: names lower-cased and sorted, repeated values sorted and joined, values decoded', () => {
    const at = (u: string) => canonicalizedResource('myaccount', new URL(u));
    assert.equal(at('https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata'), '/myaccount/mycontainer\ncomp:metadata\nrestype:container');
    assert.equal(
      at('https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs'),
      '/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container',
    );
    assert.equal(at('https://myaccount.blob.core.windows.net/?comp=list&Prefix=insights-logs-'), '/myaccount/\ncomp:list\nprefix:insights-logs-');
    // A marker's base64 '+' stays a plus (URLSearchParams would make it a space); the path stays encoded.
    assert.equal(
      at('https://myaccount.blob.core.windows.net/c/tenantId%3Dx/PT1H.json?marker=2%21a%2Bb%3D&prefix=tenantId%3Dx%2Fy%3D2024%2F'),
      '/myaccount/c/tenantId%3Dx/PT1H.json\nmarker:2!a+b=\nprefix:tenantId=x/y=2024/',
    );
  });

  test('standard headers fill their lines by name, whatever their case; Content-Length 0 is an empty line', () => {
    const url = new URL('https://a.blob.core.windows.net/c/b');
    const lines = stringToSign('put', url, { 'Content-Length': '0', 'Content-Type': 'text/plain', Range: 'bytes=0-9', 'If-Match': '"0x1"', 'X-MS-Date': 'd', 'x-ms-blob-type': 'AppendBlob' }, 'a').split('\n');
    assert.deepEqual(lines.slice(0, 12), ['PUT', '', '', '', '', 'text/plain', '', '', '"0x1"', '', '', 'bytes=0-9']);
    assert.equal(stringToSign('PUT', url, { 'content-length': '12' }, 'a').split('\n')[3], '12');
  });

  test('canonicalized headers: only x-ms-*, lower-cased, sorted by name, values trimmed with inner runs made one space', () => {
    assert.equal(
      canonicalizedHeaders({ 'x-ms-version': '2025-11-05', 'X-Ms-Range': ' bytes=0-1 ', 'x-ms-date': 'Thu,  03 Dec 2026\t07:00:00 GMT', 'user-agent': 'TA', 'x-ms-client-request-id': 'id' }),
      'x-ms-client-request-id:id\nx-ms-date:Thu, 03 Dec 2026 07:00:00 GMT\nx-ms-range:bytes=0-1\nx-ms-version:2025-11-05\n',
    );
  });

  test("the signature is HMAC-SHA256 of the string to sign under the decoded key, as the Azure SDK computes it", () => {
    const key = randomBytes(64);
    const url = new URL('https://acct.blob.core.windows.net/c?restype=container&comp=list');
    const headers = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': '2025-11-05' };
    const sdk = new StorageSharedKeyCredential('acct', key.toString('base64'));
    assert.equal(sharedKeyAuthorization('acct', key, 'GET', url, headers), `SharedKey acct:${sdk.computeHMACSHA256(stringToSign('GET', url, headers, 'acct'))}`);
    assert.notEqual(sharedKeyAuthorization('acct', randomBytes(64), 'GET', url, headers), sharedKeyAuthorization('acct', key, 'GET', url, headers));
  });
});

describe('connection strings', () => {
  test("the portal's Access keys form: the endpoint from the account and suffix, signed with the key", () => {
    assert.deepEqual(parseStorageConnectionString('DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=a2V5+/==;EndpointSuffix=core.usgovcloudapi.net'), {
      blobEndpoint: 'https://contoso.blob.core.usgovcloudapi.net',
      accountName: 'contoso',
      accountKey: 'a2V5+/==',
    });
    assert.equal(parseStorageConnectionString('AccountName=contoso;AccountKey=k').blobEndpoint, 'https://contoso.blob.core.windows.net', 'https and the public cloud by default');
  });

  test('the Shared access signature form: BlobEndpoint and the token (values may hold "="), other endpoints ignored', () => {
    assert.deepEqual(
      parseStorageConnectionString(' BlobEndpoint=https://contoso.blob.core.windows.net/;QueueEndpoint=https://contoso.queue.core.windows.net/;SharedAccessSignature=?sv=2022-11-02&ss=b&sig=ab%2Bc%3D; '),
      { blobEndpoint: 'https://contoso.blob.core.windows.net', accountName: undefined, sas: 'sv=2022-11-02&ss=b&sig=ab%2Bc%3D' },
    );
  });

  test('keys are case-insensitive; with a BlobEndpoint and a key, the account comes from AccountName, else from the endpoint', () => {
    assert.deepEqual(parseStorageConnectionString('blobendpoint=https://127.0.0.1:10000/devacct;ACCOUNTKEY=k'), { blobEndpoint: 'https://127.0.0.1:10000/devacct', accountName: 'devacct', accountKey: 'k' });
    assert.equal(parseStorageConnectionString('BlobEndpoint=https://private.example.net;AccountName=real;AccountKey=k').accountName, 'real');
    assert.equal(accountOfEndpoint('https://contoso.blob.core.chinacloudapi.cn'), 'contoso');
    assert.equal(accountOfEndpoint('https://localhost:10000/devstoreaccount1'), 'devstoreaccount1');
  });

  test('a key wins over a SAS when both are given, as in the Azure SDK', () => {
    const parsed = parseStorageConnectionString('AccountName=a;AccountKey=k;SharedAccessSignature=sv=1&sig=s');
    assert.equal(parsed.accountKey, 'k');
    assert.equal(parsed.sas, undefined);
  });

  test('what cannot work is refused with what to fix, never quoting the string', () => {
    const refused = (text: string, expected: RegExp) =>
      assert.throws(() => parseStorageConnectionString(text), (e: Error) => expected.test(e.message) && !e.message.includes('s3cr3t'));
    refused('AccountKey=s3cr3t', /neither BlobEndpoint= nor AccountName=/);
    refused('AccountName=a;SharedAccessKeyName=x', /neither AccountKey= nor SharedAccessSignature=/);
    refused('DefaultEndpointsProtocol=http;AccountName=a;AccountKey=s3cr3t', /http:\/\/ \(a\.blob\.core\.windows\.net\); the add-on only uses https/);
    refused('BlobEndpoint=http://10.0.0.1/a;SharedAccessSignature=sig=s3cr3t', /only uses https/);
    refused('UseDevelopmentStorage=true', /emulator over http/);
    refused('just s3cr3t', /not Name=value/);
    refused('BlobEndpoint=not a url;AccountKey=s3cr3t', /not a URL/);
  });

  test("the input's credential checks: a stored string's problems read as the stored string's", () => {
    const http = new HttpClient({ logger: createLogger({ write: () => {} }) });
    const params = { authType: 'connection_string' as const };
    assert.throws(() => blobService(params, 'AccountKey=abc', http), /^ConfigError: The stored connection string has neither BlobEndpoint= nor AccountName=/);
    assert.throws(() => blobService(params, 'AccountName=a;AccountKey=not base64!', http), /AccountKey is not a base64 key/);
    assert.equal(blobService(params, 'AccountName=a;AccountKey=a2V5a2V5a2V5a2V5a2V5a2V5', http).endpoint, 'https://a.blob.core.windows.net');
    assert.throws(() => blobService({ authType: 'account_key', storageAccount: 'a' }, 'not a key!', http), /not a base64 key/);
    assert.throws(() => blobService({ authType: 'sas_token', storageAccount: 'a' }, '?sv=1&se=2', http), /no sig= parameter/);
    assert.equal(blobService({ authType: 'sas_token', blobEndpoint: 'https://p.example.net/' }, '?sv=1&sig=x', http).endpoint, 'https://p.example.net');
    void http.close();
  });
});
