// CommonJS on purpose: undici is require()d inside the function, so the bundles evaluate it only
// when a dispatcher is first built (the streaming inputs: the Storage SDK's transport and the Event
// Hubs WebSocket). An ESM import would be evaluated with the collector, in every quiet poll.
import type { Dispatcher } from 'undici';
import type { SecureContext } from 'node:tls';

export interface DispatcherOptions {
  timeoutMs: number;
  /** The HttpClient's connect timeout (client.ts connectTimeoutMs). */
  connectTimeoutMs: number;
  secureContext?: SecureContext;
  /** The proxy's URL and its Proxy-Authorization value (proxyTunnel.ts proxyCredentials). */
  proxy?: { url: string; credentials?: string };
}

/** An undici Agent (or ProxyAgent) with the HttpClient's proxy, TLS context and timeouts. */
export function undiciDispatcher({ timeoutMs, connectTimeoutMs, secureContext, proxy }: DispatcherOptions): Dispatcher {
  const { Agent, ProxyAgent } = require('undici') as typeof import('undici');
  const tls = secureContext ? { secureContext } : {};
  const common = { headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connect: { timeout: connectTimeoutMs, ...tls } };
  if (!proxy?.url) return new Agent(common);
  // proxyTls: an https:// proxy is verified against the same CAs, with the same connect timeout.
  return new ProxyAgent({ ...common, uri: proxy.url, token: proxy.credentials, requestTls: tls, proxyTls: common.connect });
}
