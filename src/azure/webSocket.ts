import type { WebSocketImpl } from '@azure/event-hubs';
import { WebSocket, type Dispatcher } from 'undici';

/**
 * A WebSocket class for the Event Hubs SDK (AMQP over WebSockets, port 443) whose connections go
 * through our undici dispatcher: the add-on's proxy and ca_file apply, TLS verification stays on.
 * rhea constructs it as `new Impl(url, protocols)`.
 */
export function dispatcherWebSocket(dispatcher: Dispatcher): WebSocketImpl {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, { protocols, dispatcher });
    }
  };
}
