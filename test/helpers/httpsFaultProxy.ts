/**
 * TEST TOOL — an https reverse proxy in front of Azurite that injects what a Storage Account (or
 * the network to it) can do to a client: 503 Server Busy (with the service's error body), a
 * connection reset before any answer, a body cut short after its headers, and a delay. Azurite
 * itself never fails, so the fault campaign puts this between the input and it. It terminates TLS
 * with the same certificate as Azurite (trusted by the input through ca_file) and forwards every
 * other request unchanged; Shared Key and SAS signatures do not cover the host, so they still hold.
 */
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type StorageFaultKind = 'busy' | 'reset' | 'truncate' | 'delay';

export interface StorageFault {
  kind: StorageFaultKind;
  /** Which requests (method and path, e.g. `GET /acct/container/blob`); all when absent. */
  match?: RegExp;
  /** For `delay`. */
  ms?: number;
  /** How many requests it hits (default 1). */
  times?: number;
}

export class HttpsFaultProxy {
  readonly faults: StorageFault[] = [];
  /** Faults that fired, by kind. */
  readonly fired: Record<StorageFaultKind, number> = { busy: 0, reset: 0, truncate: 0, delay: 0 };
  /** Called for every request before it is forwarded (`GET /acct/container/blob`). */
  onRequest?: (line: string) => void;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly upstream: URL;
  port = 0;

  constructor(upstream: string, private readonly tls: { key: string; cert: string }) {
    this.upstream = new URL(upstream);
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The upstream URL with this proxy's port: `https://127.0.0.1:<port>/<account>`. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.host = `127.0.0.1:${this.port}`;
    return u.toString().replace(/\/$/, '');
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private take(line: string): StorageFault | undefined {
    const fault = this.faults.find((f) => !f.match || f.match.test(line));
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    this.fired[fault.kind]++;
    return fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const line = `${req.method} ${req.url}`;
    this.onRequest?.(line);
    const fault = this.take(line);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'busy') {
      // What Blob storage answers when it is over its targets (ServerBusy, 503).
      req.resume();
      const body = '\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>';
      res.writeHead(503, 'The server is busy.', { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const forward = () => {
      const upstream = request(
        { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: this.upstream.host }, ca: this.tls.cert },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
          if (fault?.kind === 'truncate') {
            // Half of the body (at least a byte short), then the connection goes.
            const length = Number(answer.headers['content-length'] ?? 0);
            let sent = 0;
            answer.on('data', (chunk: Buffer) => {
              const room = Math.max(0, Math.floor(length / 2) - sent);
              if (room > 0) res.write(chunk.subarray(0, room));
              sent += Math.min(room, chunk.length);
              if (sent >= Math.floor(length / 2)) {
                answer.destroy();
                res.socket?.destroy();
              }
            });
            return;
          }
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.socket?.destroy());
      req.pipe(upstream);
    };
    if (fault?.kind === 'delay') setTimeout(forward, fault.ms ?? 1000);
    else forward();
  }
}
