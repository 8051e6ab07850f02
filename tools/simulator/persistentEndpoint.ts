/**
 * A restmap.conf `scripttype = persist` endpoint as splunkd serves it, for the splunkd stand-in:
 * splunkd checks `capability.<method>` against the caller's roles (403 otherwise) before the
 * handler runs; starts the `driver` once and keeps it; sends each request as a persistconn packet
 * (splunk/persistconn/packet.py framing) with the session and, with passSystemAuth, a system token;
 * and answers with the `status`/`payload` of the handler's reply.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { requestPacket } from '../../src/hunt/persistconn.js';

export interface PersistentEndpointOptions {
  /** The path after the namespace, e.g. `defender_xdr/hunt` (restmap.conf `match`). */
  match: string;
  /** capability.post */
  capability: string;
  driver: string;
  script: string;
  env?: Record<string, string>;
}

export interface PersistCaller {
  user: string;
  authtoken: string;
  capabilities: ReadonlySet<string>;
}

export class PersistentEndpoint {
  private child?: ChildProcessWithoutNullStreams;
  private pending = Promise.resolve();
  private buffer = Buffer.alloc(0);
  private waiters: ((frame: string) => void)[] = [];
  /** The driver's stderr (splunkd writes it to splunkd.log). */
  stderr = '';

  constructor(readonly options: PersistentEndpointOptions) {}

  async handle(caller: PersistCaller, method: string, restPath: string, form: URLSearchParams, systemToken: string, restUri: string, ns: { app: string; user: string }): Promise<{ status: number; body: string }> {
    if (!caller.capabilities.has(this.options.capability)) {
      return { status: 403, body: JSON.stringify({ messages: [{ type: 'ERROR', text: `Permission denied. User '${caller.user}' does not have the capability '${this.options.capability}' that this endpoint requires.` }] }) };
    }
    const request = JSON.stringify({ output_mode: 'json', rest_path: restPath, method, form: [...form.entries()], query: [], session: { user: caller.user, authtoken: caller.authtoken }, system_authtoken: systemToken, server: { rest_uri: restUri }, ns });
    const run = this.pending.then(async () => {
      const child = this.start();
      child.stdin.write(requestPacket([this.options.script], request));
      const error = await this.nextFrame();
      if (error) return { status: 500, body: JSON.stringify({ messages: [{ type: 'ERROR', text: error }] }) };
      const reply = JSON.parse(await this.nextFrame()) as { status?: number; payload?: string };
      return { status: reply.status ?? 200, body: reply.payload ?? '' };
    });
    this.pending = run.then(() => undefined, () => undefined);
    return run;
  }

  stop(): void {
    this.child?.stdin.end();
    this.child?.kill();
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null) return this.child;
    const child = spawn(this.options.driver, [], { env: { PATH: process.env.PATH ?? '', ...this.options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (this.stderr += text));
    this.child = child;
    return child;
  }

  private nextFrame(): Promise<string> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.drain();
    });
  }

  private drain(): void {
    while (this.waiters.length) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) return;
      const length = Number(this.buffer.subarray(0, newline).toString('ascii'));
      if (this.buffer.length < newline + 1 + length) return;
      const text = this.buffer.subarray(newline + 1, newline + 1 + length).toString('utf8');
      this.buffer = this.buffer.subarray(newline + 1 + length);
      this.waiters.shift()!(text);
    }
  }
}
