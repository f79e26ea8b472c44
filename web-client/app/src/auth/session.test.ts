import { describe, expect, it, vi } from 'vitest';
import { authFetch } from '../api/transport';
import { Session, type RefreshOutcome } from './session';

function memoryStorage(): Storage {
  const map = new Map<string, string>();
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (k) => map.get(k) ?? null,
    key: (i) => [...map.keys()][i] ?? null,
    removeItem: (k) => void map.delete(k),
    setItem: (k, v) => void map.set(k, v),
  };
}

/** A session whose access token (900 s) is `age` seconds old. */
function setup(refresh: (rt: string) => Promise<RefreshOutcome>, age = 850) {
  let now = 1_000_000;
  const session = new Session({ storage: memoryStorage(), refresh, now: () => now });
  session.start({ accessToken: 'a1', refreshToken: 'r1', expiresIn: 900 });
  now += age * 1000;
  return session;
}

describe('session refresh', () => {
  it('uses the token as is while it has more than a minute left', async () => {
    const refresh = vi.fn();
    const session = setup(refresh, 0);
    expect(await session.accessToken()).toBe('a1');
    expect(refresh).not.toHaveBeenCalled();
  });

  it('refreshes once for concurrent callers and keeps the rotated refresh token', async () => {
    const refresh = vi.fn(async () => ({ grant: { accessToken: 'a2', refreshToken: 'r2', expiresIn: 900 } }));
    const session = setup(refresh);
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(tokens).toEqual(['a2', 'a2', 'a2']);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledWith('r1');
    expect(session.tokens()?.refreshToken).toBe('r2');
  });

  it('never trades the same refresh token twice, even one after the other', async () => {
    const refresh = vi.fn(async (rt: string) => ({ grant: { accessToken: `after-${rt}`, refreshToken: `${rt}+`, expiresIn: 900 } }));
    const session = setup(refresh);
    await session.refresh('a1');
    await session.refresh('a1'); // a late caller that saw the old token
    expect(refresh.mock.calls.map(([rt]) => rt)).toEqual(['r1']);
  });

  it('keeps the refresh token when the server does not rotate it', async () => {
    const session = setup(async () => ({ grant: { accessToken: 'a2', refreshToken: null, expiresIn: 900 } }));
    await session.accessToken();
    expect(session.tokens()?.refreshToken).toBe('r1');
  });

  it('ends the session when the refresh token is refused', async () => {
    const session = setup(async () => ({ revoked: true }));
    expect(await session.accessToken()).toBeNull();
    expect(session.viewer()).toBeNull();
    expect(session.tokens()).toBeNull();
  });

  it('refreshes a short-lived token a quarter of its life before it expires', async () => {
    let now = 0;
    const refresh = vi.fn(async () => ({ grant: { accessToken: 'a2', refreshToken: 'r2', expiresIn: 60 } }));
    const session = new Session({ storage: memoryStorage(), refresh, now: () => now });
    session.start({ accessToken: 'a1', refreshToken: 'r1', expiresIn: 60 });
    now = 44_000;
    expect(await session.accessToken()).toBe('a1');
    now = 46_000;
    expect(await session.accessToken()).toBe('a2');
  });

  it('keeps the session through a network failure while the token is still valid', async () => {
    const session = setup(async () => ({ revoked: false }));
    expect(await session.accessToken()).toBe('a1');
    expect(session.tokens()?.refreshToken).toBe('r1');
  });
});

describe('authFetch', () => {
  it('sends the bearer token, and after a 401 refreshes once and retries', async () => {
    const session = setup(async () => ({ grant: { accessToken: 'a2', refreshToken: 'r2', expiresIn: 900 } }), 0);
    const seen: (string | null)[] = [];
    const base = vi.fn(async (_: RequestInfo | URL, init?: RequestInit) => {
      const auth = new Headers(init?.headers).get('Authorization');
      seen.push(auth);
      return new Response('{}', { status: auth === 'Bearer a1' ? 401 : 200 });
    });
    const response = await authFetch(session, base)('/graphql', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['Bearer a1', 'Bearer a2']);
  });
});
