import type { Dispatcher as DispatcherType } from 'undici';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js';
import apiConnect from 'undici/lib/api/api-connect.js';
import apiRequest from 'undici/lib/api/api-request.js';

/**
 * The parts of undici the HTTP client uses, loaded by path. undici's index also loads fetch,
 * WebSocket, cookies, caches, mocks and interceptors, and its cookies module touches the global
 * Headers, which made Node load its own, second copy of undici: a quiet poll paid for all of it at
 * every start (figures in docs/performance.md). The streaming inputs, which use undici's
 * WebSocket, still load the index.
 */
export { Agent, ProxyAgent };

// What undici's index does on load, for the two methods used here: request, and connect, which
// ProxyAgent uses to open its tunnel. The same functions, so loading the index later changes nothing.
Object.assign(Dispatcher.prototype, { request: apiRequest, connect: apiConnect });

export type RequestOptions = Omit<DispatcherType.RequestOptions, 'origin' | 'path' | 'method'> & {
  method: DispatcherType.HttpMethod;
  dispatcher: DispatcherType;
};

/** undici's `request(url, options)` on the given dispatcher (no global dispatcher is ever made). */
export function request(url: string, { dispatcher, ...options }: RequestOptions): Promise<DispatcherType.ResponseData> {
  const target = new URL(url);
  return dispatcher.request({ ...options, origin: target.origin, path: target.pathname + target.search });
}
