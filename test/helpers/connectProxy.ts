import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** A minimal authenticating HTTP CONNECT proxy on loopback, as corporate proxies are. */
export class ConnectProxy {
  readonly connects: { target: string; auth?: string }[] = [];
  private readonly server: Server;
  private readonly tunnels = new Set<Socket>();
  url = '';

  /**
   * `routes` maps a CONNECT target (`host:443`) to where it really is (`127.0.0.1:<port>`), as a proxy's own DNS would.
   * With `tls`, the proxy itself is https://.
   */
  constructor(private readonly username: string, private readonly password: string, private readonly routes: Record<string, string> = {}, private readonly tls?: { key: string; cert: string }) {
    const refuse = (_req: unknown, res: { writeHead(status: number): { end(): void } }) => res.writeHead(405).end();
    this.server = tls ? createTlsServer(tls, refuse) : createServer(refuse);
    this.server.on('connect', (req, client: Socket, head) => this.tunnel(req.url ?? '', req.headers['proxy-authorization'], client, head));
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    // Tunnels are no longer the HTTP server's connections: closeAllConnections() leaves them.
    for (const socket of this.tunnels) socket.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private tunnel(target: string, auth: string | undefined, client: Socket, head: Buffer): void {
    this.connects.push({ target, auth });
    if (auth !== `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    this.tunnels.add(client);
    client.on('close', () => this.tunnels.delete(client));
    const [host, port] = (this.routes[target.toLowerCase()] ?? target).split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  }
}
