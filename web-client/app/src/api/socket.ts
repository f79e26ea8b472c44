// One graphql-transport-ws socket for every subscription. It connects on the first
// subscription, sends the current token in connection_init (so a reconnect after the server
// closed an expired session's socket carries a fresh one), and reconnects after any drop;
// graphql-ws then resubscribes every active subscription by itself.
import { createClient } from 'graphql-ws';
import type { Session } from '../auth/session';

export type SocketState = 'idle' | 'connected' | 'reconnecting';

export function createSocket(url: string, session: Session, onState: (s: SocketState) => void) {
  return createClient({
    url,
    lazy: true,
    retryAttempts: 50,
    shouldRetry: () => true,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 8000) * (0.5 + Math.random() / 2))),
    connectionParams: async () => {
      const token = await session.accessToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    on: {
      connected: () => onState('connected'),
      // 1000: closed on purpose (no subscription left); anything else is a drop.
      closed: (event) => onState((event as CloseEvent).code === 1000 ? 'idle' : 'reconnecting'),
    },
  });
}

export function socketUrl(path: string, location: Location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}
