// How operations reach the server: queries as APQ GETs (hash first, the document only on a
// miss), mutations as POST, subscriptions over graphql-transport-ws. Every request carries the
// session's bearer token, refreshed before it expires.
import {
  Client,
  cacheExchange,
  fetchExchange,
  subscriptionExchange,
  type SubscriptionForwarder,
} from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import type { Client as WsClient } from 'graphql-ws';
import type { RefreshOutcome, Session } from '../auth/session';
import { RefreshSessionMutation } from './ops/account';
import { sentText } from './documents';

export function createApiClient(opts: { url: string; fetch: typeof fetch; subscribe: SubscriptionForwarder }) {
  return new Client({
    url: opts.url,
    fetch: opts.fetch,
    requestPolicy: 'cache-and-network',
    exchanges: [
      cacheExchange,
      persistedExchange({ preferGetForPersistedQueries: 'within-url-limit' }),
      fetchExchange,
      subscriptionExchange({ forwardSubscription: opts.subscribe }),
    ],
  });
}

export function forwardTo(ws: WsClient): SubscriptionForwarder {
  return (request) => ({
    subscribe: (sink) => ({
      unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink),
    }),
  });
}

/** fetch with the session's token; a 401 trades the token once and retries. */
export function authFetch(session: Session, base: typeof fetch): typeof fetch {
  return async (input, init = {}) => {
    const token = await session.accessToken();
    const response = await base(input, withToken(init, token));
    if (response.status !== 401 || !token) return response;
    return base(input, withToken(init, await session.refresh(token)));
  };
}

function withToken(init: RequestInit, token: string | null): RequestInit {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  else headers.delete('Authorization');
  return { ...init, headers };
}

/** refreshSession outside urql: the authenticated fetch itself depends on it. */
export function refreshOverHttp(url: string, base: typeof fetch) {
  return async (refreshToken: string): Promise<RefreshOutcome> => {
    let body: { data?: { refreshSession?: RefreshGrant } | null; errors?: { extensions?: { code?: string } }[] };
    try {
      const response = await base(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
          query: sentText(RefreshSessionMutation),
          operationName: 'RefreshSession',
          variables: { refreshToken },
        }),
      });
      body = await response.json();
    } catch {
      return { revoked: false };
    }
    if (body.data?.refreshSession) return { grant: body.data.refreshSession };
    const codes = (body.errors ?? []).map((e) => e.extensions?.code);
    return { revoked: codes.some((c) => c === 'UNAUTHENTICATED' || c === 'BAD_USER_INPUT') };
  };
}

type RefreshGrant = { accessToken: string; refreshToken: string | null; expiresIn: number };
