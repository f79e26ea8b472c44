// The signed-in session: tokens in localStorage (shared by every tab), refreshed before they
// expire. The local provider rotates refresh tokens and revokes the whole session when an old
// one is reused, so a refresh must happen once: concurrent callers share one in-flight
// refresh, and tabs take turns through a Web Lock and re-read what another tab stored.
import { viewerOf, type Viewer } from './jwt';

export const SESSION_KEY = 'mercado.session';
/** Refresh this long before the access token expires (or a quarter of a short lifetime). */
const MARGIN_MS = 60_000;

export interface Tokens {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** When to trade it for a new one, epoch milliseconds. */
  refreshAt: number;
}

export interface Grant {
  accessToken: string;
  refreshToken?: string | null;
  expiresIn: number;
}

/** `revoked`: the server refused the refresh token, so the session is over. */
export type RefreshOutcome = { grant: Grant } | { revoked: boolean };

export interface SessionDeps {
  storage: Storage;
  refresh: (refreshToken: string) => Promise<RefreshOutcome>;
  now?: () => number;
  locks?: LockManager;
}

export class Session {
  private inflight: Promise<string | null> | null = null;
  private listeners = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly deps: SessionDeps) {
    this.now = deps.now ?? Date.now;
  }

  tokens(): Tokens | null {
    const raw = this.deps.storage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  }

  viewer(): Viewer | null {
    const t = this.tokens();
    return t ? viewerOf(t.accessToken) : null;
  }

  start(grant: Grant): void {
    this.store(grant, null);
  }

  clear(): void {
    this.deps.storage.removeItem(SESSION_KEY);
    this.emit();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another tab changed the stored session. */
  emit(): void {
    this.listeners.forEach((l) => l());
  }

  /** A token not about to expire, refreshing first if needed; null when signed out. */
  async accessToken(): Promise<string | null> {
    const t = this.tokens();
    if (!t) return null;
    if (this.now() < t.refreshAt) return t.accessToken;
    return this.refresh(t.accessToken);
  }

  /**
   * Trades the refresh token for new tokens because `stale` is too old or was refused. When
   * someone else already replaced `stale`, their token is returned without another trade.
   */
  refresh(stale: string): Promise<string | null> {
    this.inflight ??= this.exclusive(() => this.trade(stale)).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async trade(stale: string): Promise<string | null> {
    const t = this.tokens();
    if (!t) return null;
    if (t.accessToken !== stale && this.now() < t.refreshAt) return t.accessToken;
    if (!t.refreshToken) return this.expiredOr(t);
    const outcome = await this.deps.refresh(t.refreshToken);
    if ('grant' in outcome) return this.store(outcome.grant, t.refreshToken);
    if (outcome.revoked) {
      this.clear();
      return null;
    }
    // The server could not be asked (network): keep the session and try again next time.
    return this.expiredOr(t);
  }

  private expiredOr(t: Tokens): string | null {
    if (t.expiresAt > this.now()) return t.accessToken;
    this.clear();
    return null;
  }

  private store(grant: Grant, previousRefresh: string | null): string {
    const lifetime = grant.expiresIn * 1000;
    const expiresAt = this.now() + lifetime;
    const tokens: Tokens = {
      accessToken: grant.accessToken,
      // Null means the previous refresh token stays valid.
      refreshToken: grant.refreshToken ?? previousRefresh,
      expiresAt,
      refreshAt: expiresAt - Math.min(MARGIN_MS, lifetime / 4),
    };
    this.deps.storage.setItem(SESSION_KEY, JSON.stringify(tokens));
    this.emit();
    return tokens.accessToken;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const locks = this.deps.locks;
    return locks ? locks.request('mercado-session-refresh', work) : work();
  }
}
