/**
 * The streaming bench's limit with I/O (issue 23: "the least work: read the bytes, split records,
 * parse each, write each once"), in a process of its own (bundled by esbuild and run with plain
 * `node` by tools/benchStreaming.ts). Its configuration comes as JSON on stdin (the blob SAS URLs and the
 * Event Hubs SAS token are secrets: never on the command line); its answer, JSON
 * { cpuMs, records }, goes to fd 3; stdout carries the records, one
 * `JSON.stringify(record) + '\n'` write each, to a pipe read by another process, as splunkd reads
 * an input's stdout. CPU is the whole process's (`process.cpuUsage()`, every thread) from its start
 * to after the last write drained: Node's start-up and the bundle's loading are in it, as they are in
 * the input's figure (its /proc counters over its whole life).
 * - blob: one `https.get` per blob (the test CA trusted, verification on), lines split, each parsed;
 * - eventhub: a bare rhea connection over AMQP over WebSockets (as the input reads), one SAS
 *   put-token on `$cbs` for the hub, a receiver per partition from the start with credit given as
 *   the records are written, each message's `{"records":[…]}` parsed.
 */
import { get } from 'node:https';
import { writeSync } from 'node:fs';
import rhea, { type EventContext } from 'rhea';
import WebSocket from 'ws';

export type LimitConfig =
  | { kind: 'blob'; urls: string[]; ca: string; records: number }
  | { kind: 'eventhub'; url: string; ca: string; audience: string; token: string; hub: string; group: string; partitions: number; records: number };

let written = 0;
let blocked = false;
const drained: (() => void)[] = [];
process.stdout.on('drain', () => {
  blocked = false;
  for (const resume of drained.splice(0)) resume();
});

/** One write per record; false when the pipe is full (the caller stops reading until 'drain'). */
function writeRecord(record: unknown): boolean {
  written++;
  if (!process.stdout.write(JSON.stringify(record) + '\n')) blocked = true;
  return !blocked;
}

async function readBlobs(urls: string[], ca: string): Promise<void> {
  for (const url of urls) {
    await new Promise<void>((resolve, reject) => {
      get(url, { ca }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`blob GET: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (text: string) => {
          const lines = (rest + text).split('\n');
          rest = lines.pop()!;
          for (const line of lines) if (line.length > 1) writeRecord(JSON.parse(line)); // '\r' is JSON whitespace
          if (blocked) {
            res.pause();
            drained.push(() => res.resume());
          }
        });
        res.on('end', () => (rest.trim() ? reject(new Error('blob ended mid-line')) : resolve()));
        res.on('error', reject);
      }).on('error', reject);
    });
  }
}

async function readHub(c: Extract<LimitConfig, { kind: 'eventhub' }>): Promise<void> {
  const container = rhea.create_container({ id: 'bench-limit' });
  const ws = container.websocket_connect(WebSocket as never);
  const connection = container.connect({ connection_details: ws(c.url, ['AMQPWSB10'], { ca: c.ca }), reconnect: false } as never);
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_error', (ctx: EventContext) => reject(new Error(`connection: ${String(ctx.connection.error)}`)));
    connection.once('disconnected', (ctx: EventContext) => reject(new Error(`disconnected: ${String(ctx.error)}`)));
    // put-token on $cbs: a request link and its reply link, as the SDK does, once for the whole hub.
    const replyTo = 'cbs-reply';
    const replies = connection.open_receiver({ source: { address: '$cbs' }, target: { address: replyTo } } as never);
    const requests = connection.open_sender({ target: { address: '$cbs' } } as never);
    replies.once('message', (ctx: EventContext) => {
      const status = Number((ctx.message!.application_properties as Record<string, unknown>)['status-code']);
      if (status !== 200 && status !== 202) return reject(new Error(`put-token: ${status}`));
      resolve();
    });
    requests.once('sendable', () => {
      requests.send({ message_id: 'put-token-1', reply_to: replyTo, body: c.token, application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: c.audience, expiration: Date.now() + 3600_000 } } as never);
    });
  });
  const CREDIT = 100;
  await new Promise<void>((resolve, reject) => {
    connection.on('receiver_error', (ctx: EventContext) => reject(new Error(`receiver: ${String(ctx.receiver?.error)}`)));
    for (let p = 0; p < c.partitions; p++) {
      const receiver = connection.open_receiver({
        source: { address: `${c.hub}/ConsumerGroups/${c.group}/Partitions/${p}`, filter: { 'apache.org:selector-filter:string': rhea.filter.selector("amqp.annotation.x-opt-offset > '-1'")['apache.org:selector-filter:string'] } },
        credit_window: 0,
        autoaccept: true,
      } as never);
      // Credit once the service has answered the attach, as the SDK gives it.
      receiver.once('receiver_open', () => receiver.add_credit(CREDIT));
      let owed = 0;
      const topUp = () => {
        receiver.add_credit(owed);
        owed = 0;
      };
      receiver.on('message', (ctx: EventContext) => {
        const body = ctx.message!.body as { content?: Buffer } | Buffer;
        const bytes = Buffer.isBuffer(body) ? body : body.content!;
        for (const record of (JSON.parse(bytes.toString('utf8')) as { records: unknown[] }).records) writeRecord(record);
        owed++;
        if (written >= c.records) return resolve();
        if (owed >= CREDIT / 2) {
          if (blocked) drained.push(topUp);
          else topUp();
        }
      });
    }
  });
  connection.close();
}

const config = JSON.parse(await new Promise<string>((resolve) => {
  let text = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
})) as LimitConfig;

if (config.kind === 'blob') await readBlobs(config.urls, config.ca);
else await readHub(config);
// Every record flushed to the pipe: an empty write's callback runs after the writes before it.
// ('drain' is emitted only after a write that returned false: a run whose last writes fit in the
// buffer waited for it forever, and Node ended the process with 13, an unsettled top-level await.)
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
// Since the process started, as the input's CPU is counted.
const used = process.cpuUsage();
writeSync(3, JSON.stringify({ cpuMs: (used.user + used.system) / 1000, records: written }));
process.exit(0);
