// The app's single session, socket and urql client.
import { Session, SESSION_KEY } from '../auth/session';
import { createStore } from '../lib/store';
import { authFetch, createApiClient, forwardTo, refreshOverHttp } from './transport';
import { createSocket, socketUrl, type SocketState } from './socket';
import { viewerOf } from '../auth/jwt';

const GRAPHQL_PATH = '/graphql';
const baseFetch: typeof fetch = (input, init) => fetch(input, init);

export const session = new Session({
  storage: localStorage,
  refresh: refreshOverHttp(GRAPHQL_PATH, baseFetch),
  locks: navigator.locks,
});

/** Connection state and how many times the socket (re)connected. */
export const socketStatus = createStore<{ state: SocketState; connections: number }>({ state: 'idle', connections: 0 });

export const socket = createSocket(socketUrl(GRAPHQL_PATH, location), session, (state) => {
  const prev = socketStatus.get();
  socketStatus.set({ state, connections: prev.connections + (state === 'connected' ? 1 : 0) });
});

/** A client with an empty cache: the app makes one per signed-in identity. */
export const newClient = () =>
  createApiClient({ url: GRAPHQL_PATH, fetch: authFetch(session, baseFetch), subscribe: forwardTo(socket) });

// A socket authenticates once, at connection_init: reconnect when the identity changes
// (sign-in, sign-out, a new role), not on a mere token refresh.
let identity = identityKey();
session.subscribe(() => {
  const next = identityKey();
  if (next !== identity) {
    identity = next;
    socket.terminate();
  }
});

/** Who is signed in, with which roles ('' when nobody). */
export function identityKey(): string {
  const t = session.tokens();
  const v = t && viewerOf(t.accessToken);
  return v ? `${v.id}:${v.roles.join(',')}` : '';
}

addEventListener('storage', (e) => {
  if (e.key === SESSION_KEY) session.emit();
});
