import { Agent as HttpAgent, type AgentOptions as HttpAgentOptions, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type SecureContext } from 'node:tls';

export interface TunnelProxy {
  /** http(s)://host:port */
  url: string;
  username?: string;
  password?: string;
  /** Verifies an https:// proxy, as it verifies the targets. */
  secureContext?: SecureContext;
  /** How long the proxy connection and its CONNECT answer may take. */
  connectTimeoutMs: number;
}

type Created = (error: Error | null, socket?: Socket) => void;
/** What Node's agents pass to createConnection (always with the callback). */
type Callback = (error: Error | null, stream: Duplex) => void;

/** The CONNECT answer's head is a few hundred bytes; anything this large is not a proxy speaking HTTP. */
const MAX_HEAD = 16 * 1024;

/**
 * An https.Agent whose connections are CONNECT tunnels through the proxy: the TLS session with the
 * target runs inside the tunnel, with the agent's secureContext and the target's name verified,
 * so the proxy sees neither the requests nor the tokens. Keep-alive pools the tunnels as it pools
 * direct connections. Written here rather than taken from https-proxy-agent (which also brings
 * agent-base and debug): the tunnel is one request and one status line.
 */
export class HttpsTunnelAgent extends HttpsAgent {
  constructor(private readonly proxy: TunnelProxy, options: HttpsAgentOptions) {
    super(options);
  }

  // Node's agents accept a socket from this callback (net.Agent's createConnection contract).
  override createConnection(options: HttpsRequestOptions & { secureContext?: SecureContext }, created?: Callback): undefined {
    openTunnel(this.proxy, options, (error, socket) => {
      // servername is set by the agent (empty for an IP address, which is then checked against the
      // certificate's IPs); secureContext is the agent's, so ca_file applies; verification stays on.
      const { host, servername, secureContext } = options;
      if (socket) created?.(null, tlsConnect({ socket, host: host ?? undefined, servername, secureContext, rejectUnauthorized: true, ALPNProtocols: ['http/1.1'] }));
      else created?.(error ?? new Error('no tunnel'), undefined as never);
    });
    return undefined;
  }
}

/** The same for plain http:// targets (loopback stand-ins only: Microsoft's APIs are all https). */
export class HttpTunnelAgent extends HttpAgent {
  constructor(private readonly proxy: TunnelProxy, options: HttpAgentOptions) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, created?: Callback): undefined {
    openTunnel(this.proxy, options, (error, socket) => created?.(error, socket as Duplex));
    return undefined;
  }
}

/** Connects to the proxy, asks it for a tunnel to options.host:port, and hands the socket over once it answers 200. */
function openTunnel(proxy: TunnelProxy, options: { host?: string | null; port?: number | string | null }, done: Created): void {
  const proxyUrl = new URL(proxy.url);
  const secureProxy = proxyUrl.protocol === 'https:';
  const proxyHost = proxyUrl.hostname.replace(/^\[|\]$/g, '');
  const proxyPort = Number(proxyUrl.port) || (secureProxy ? 443 : 80);
  const host = options.host ?? 'localhost';
  const target = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port ?? 443}`;
  const socket: Socket = secureProxy
    ? tlsConnect({ host: proxyHost, port: proxyPort, servername: isIP(proxyHost) ? undefined : proxyHost, secureContext: proxy.secureContext, ALPNProtocols: ['http/1.1'] })
    : netConnect({ host: proxyHost, port: proxyPort });
  let head = Buffer.alloc(0);
  let settled = false;
  const finish = (error: Error | null) => {
    if (settled) return;
    settled = true;
    socket.setTimeout(0);
    socket.off('data', onData);
    socket.off('error', finish);
    socket.off('timeout', onTimeout);
    socket.off('end', onEnd);
    if (error) {
      socket.destroy();
      done(error);
    } else {
      done(null, socket);
    }
  };
  const onTimeout = () => finish(tunnelError('ETIMEDOUT', `the proxy did not open a tunnel to ${target} within ${proxy.connectTimeoutMs} ms`));
  const onEnd = () => finish(tunnelError('ECONNRESET', `the proxy closed the connection before answering CONNECT ${target}`));
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD) finish(tunnelError('EPROXY', 'the proxy answered CONNECT with an oversized head'));
      return;
    }
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1]);
    if (status !== 200) {
      // 407: the proxy refused the credentials (which are never part of the message); not retried.
      const code = status === 407 ? 'EPROXY_AUTH' : 'EPROXY';
      finish(tunnelError(code, `the proxy answered CONNECT ${target} with ${Number.isFinite(status) ? `HTTP ${status}` : 'something other than HTTP'}`));
    } else if (head.length > end + 4) {
      // The target speaks only after our TLS hello: bytes before it are not the target's.
      finish(tunnelError('EPROXY', 'the proxy sent data after its CONNECT answer'));
    } else {
      finish(null);
    }
  };
  socket.setTimeout(proxy.connectTimeoutMs);
  socket.on('timeout', onTimeout);
  socket.on('error', finish);
  socket.on('end', onEnd);
  socket.on('data', onData);
  const credentials = proxyCredentials(proxy);
  const authorization = credentials ? `Proxy-Authorization: ${credentials}\r\n` : '';
  // Written at once: a socket buffers it until it is connected (and, for an https proxy, secured).
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${authorization}\r\n`);
}

/** The Proxy-Authorization value for a proxy with a user name (Basic), shared with the undici dispatcher. */
export function proxyCredentials(proxy: { username?: string; password?: string }): string | undefined {
  return proxy.username ? `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64')}` : undefined;
}

function tunnelError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
