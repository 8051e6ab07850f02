/**
 * TEST TOOL — Azurite (Microsoft's Blob service emulator, npm `azurite`) started over https on a
 * loopback port with a throw-away certificate, in memory, with a random account and key, plus
 * helpers that write blobs the way the Defender XDR Streaming API does (append blobs, JSON lines
 * with CRLF, `tenantId=<id>/y=/m=/d=/h=/m=00/PT1H.json`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccountSASPermissions, BlobServiceClient, StorageSharedKeyCredential, type AppendBlobClient } from '@azure/storage-blob';
import { azureHttpClient } from '../../src/azure/httpClient.js';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/splunk/log.js';
import { makeLocalCertificate } from '../../tools/simulator/tls.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Azurite {
  /** https://127.0.0.1:<port>/<account> */
  endpoint: string;
  account: string;
  key: string;
  caFile: string;
  dir: string;
  service: BlobServiceClient;
  /** A SAS token (no leading '?') with list+read on the whole account. */
  sas(): string;
  connectionString(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startAzurite(): Promise<Azurite> {
  const dir = mkdtempSync(path.join(tmpdir(), 'azurite-'));
  const tls = await makeLocalCertificate();
  const caFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  writeFileSync(caFile, tls.cert);
  writeFileSync(keyFile, tls.key, { mode: 0o600 });
  const account = `acct${randomBytes(4).toString('hex')}`;
  const key = randomBytes(64).toString('base64');
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js'),
      '--blobHost', '127.0.0.1', '--blobPort', String(port), '--cert', caFile, '--key', keyFile,
      '--inMemoryPersistence', '--extentMemoryLimit', '512', '--skipApiVersionCheck', '--disableTelemetry', '--loose', '--silent',
    ],
    { cwd: dir, env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${key}` }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/successfully listen/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited (${code}): ${output}`));
    });
  });
  const endpoint = `https://127.0.0.1:${port}/${account}`;
  const http = new HttpClient({ logger: createLogger({ write: () => undefined }), caFile });
  const credential = new StorageSharedKeyCredential(account, key);
  const service = new BlobServiceClient(endpoint, credential, { httpClient: azureHttpClient(http) });
  return {
    endpoint, account, key, caFile, dir, service,
    sas: () => {
      const url = service.generateAccountSasUrl(new Date(Date.now() + 3600_000), AccountSASPermissions.parse('rl'), 'sco');
      return new URL(url).search.slice(1);
    },
    connectionString: () => `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${key};BlobEndpoint=${endpoint};`,
    stop: async () => {
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      await http.close();
    },
  };
}

/** A Streaming API record of `table` (a few realistic columns), as it appears on one line of a blob. */
export function streamingRecord(table: string, n: number, tenantId: string, at = new Date()): Record<string, unknown> {
  const timestamp = new Date(at.getTime() - 1000).toISOString().replace('Z', '0000Z');
  return {
    time: at.toISOString().replace('Z', '0000Z'),
    tenantId,
    operationName: 'Publish',
    category: `AdvancedHunting-${table}`,
    properties: {
      Timestamp: timestamp,
      DeviceId: randomBytes(20).toString('hex'),
      DeviceName: `host${n % 50}.contoso.com`,
      ActionType: 'ProcessCreated',
      FileName: 'powershell.exe',
      ProcessCommandLine: `powershell.exe -nop -c "Write-Output ${n}"`,
      ReportId: n,
      Seq: n,
      MachineGroup: 'Servers',
    },
  };
}

export function blobPath(tenantId: string, at: Date): string {
  const d = at.toISOString();
  return `tenantId=${tenantId}/y=${d.slice(0, 4)}/m=${d.slice(5, 7)}/d=${d.slice(8, 10)}/h=${d.slice(11, 13)}/m=00/PT1H.json`;
}

export async function appendRecords(service: BlobServiceClient, table: string, blobName: string, records: unknown[], { newline = '\r\n' } = {}): Promise<AppendBlobClient> {
  const container = service.getContainerClient(`insights-logs-advancedhunting-${table.toLowerCase()}`);
  await container.createIfNotExists();
  const blob = container.getAppendBlobClient(blobName);
  await blob.createIfNotExists();
  // An append block holds at most 4 MiB; Azurite is much faster with small ones.
  let batch = '';
  for (const record of records) {
    const line = JSON.stringify(record) + newline;
    if (batch.length + line.length > 256 * 1024) {
      await blob.appendBlock(batch, Buffer.byteLength(batch));
      batch = '';
    }
    batch += line;
  }
  if (batch) await blob.appendBlock(batch, Buffer.byteLength(batch));
  return blob;
}

export async function appendRaw(blob: AppendBlobClient, text: string): Promise<void> {
  await blob.appendBlock(text, Buffer.byteLength(text));
}

export const newTenant = (): string => randomUUID();
