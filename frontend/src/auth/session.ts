// The login of this tab: the access token (in memory only), who it belongs to, and keeping it
// fresh. The refresh token lives in an HttpOnly cookie the backend rotates on every use; each one
// works once and presenting a used one revokes the whole login, so every refresh of the tab goes
// through one shared call (and across tabs, one at a time under a Web Lock).
import { ApiError, type AuthProvider } from '../api/client';
import type { Identity } from '../api/types';
import { type AccessGrant, type AuthApi, authApi } from './api';

export type SessionState =
  /** Page load: asking the backend whether the refresh cookie still holds a login. */
  | { status: 'loading' }
  /** Signed out; `notice` says why when it was not the user's own doing. */
  | { status: 'anonymous'; notice: string | null }
  | { status: 'authenticated'; identity: Identity };

export interface AuthSessionOptions {
  api?: AuthApi;
  /** Refresh this long before the access token expires. */
  refreshLeadMs?: number;
  /** After a silent refresh failed for another reason than 401 (network, 429, 5xx), retry after this. */
  retryMs?: number;
  /** A login already established (tests). */
  initial?: { identity: Identity; accessToken: string };
  /** Runs a refresh exclusively across the tabs of this origin (default: a Web Lock when available). */
  exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
}

export const SESSION_ENDED = 'Your session has ended. Sign in again.';
const LOCK_NAME = 'dtwin-auth-refresh';

function webLock<T>(task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? (locks.request(LOCK_NAME, task) as Promise<T>) : task();
}

/** When to refresh a token valid for `expiresInMs`: `leadMs` before it ends, or halfway if shorter. */
export function refreshDelay(expiresInMs: number, leadMs: number): number {
  return expiresInMs > 2 * leadMs ? expiresInMs - leadMs : Math.max(0, expiresInMs / 2);
}

type Listener = () => void;
type TokenListener = (token: string) => void;

export class AuthSession implements AuthProvider {
  private readonly api: AuthApi;
  private readonly refreshLeadMs: number;
  private readonly retryMs: number;
  private readonly exclusive: <T>(task: () => Promise<T>) => Promise<T>;

  private state: SessionState;
  private token: string | null;
  private inflight: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped by every login and logout, so a late answer for an earlier login is dropped. */
  private generation = 0;
  private readonly listeners = new Set<Listener>();
  private readonly tokenListeners = new Set<TokenListener>();

  constructor(options: AuthSessionOptions = {}) {
    this.api = options.api ?? authApi;
    this.refreshLeadMs = options.refreshLeadMs ?? 60_000;
    this.retryMs = options.retryMs ?? 15_000;
    this.exclusive = options.exclusive ?? webLock;
    this.token = options.initial?.accessToken ?? null;
    this.state = options.initial
      ? { status: 'authenticated', identity: options.initial.identity }
      : { status: 'loading' };
  }

  getState(): SessionState {
    return this.state;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with every new access token (to renew the WebSocket's authentication). */
  onToken(listener: TokenListener): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  accessToken(): string | null {
    return this.token;
  }

  /** Page load: a refresh through the cookie tells whether a login is still there. */
  async start(): Promise<void> {
    if (this.state.status !== 'loading') return;
    await this.refresh();
  }

  /** Logs in; throws an ApiError (401 wrong credentials, 429 too many attempts) for the form. */
  async login(username: string, password: string): Promise<void> {
    const generation = ++this.generation;
    const grant = await this.api.login(username, password);
    const identity = await this.api.me(grant.accessToken);
    if (generation !== this.generation) return;
    this.adopt(grant);
    this.setState({ status: 'authenticated', identity });
  }

  /** Ends the login here and on the backend (the refresh cookie is revoked and cleared). */
  async logout(): Promise<void> {
    this.generation += 1;
    this.clear({ status: 'anonymous', notice: null });
    try {
      await this.api.logout();
    } catch (error) {
      // Signed out here either way; the cookie expires on its own if the backend was unreachable.
      console.warn('logout failed', error);
    }
  }

  /**
   * A new access token, or null when there is none to be had. Concurrent callers share one call:
   * a second refresh with the same cookie would present a used refresh token.
   */
  refresh(): Promise<string | null> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * A token to retry with after `stale` was refused: the newer one already held, else one
   * shared refresh. Null means the login is gone (the session then shows the login page).
   */
  renew(stale: string | null): Promise<string | null> {
    if (this.token !== null && this.token !== stale) return Promise.resolve(this.token);
    if (this.state.status === 'anonymous') return Promise.resolve(null);
    return this.refresh();
  }

  private async doRefresh(): Promise<string | null> {
    const generation = this.generation;
    const loading = this.state.status === 'loading';
    try {
      const grant = await this.exclusive(() => this.api.refresh());
      const identity =
        this.state.status === 'authenticated' ? null : await this.api.me(grant.accessToken);
      if (generation !== this.generation) return this.token;
      this.adopt(grant);
      if (identity) this.setState({ status: 'authenticated', identity });
      return grant.accessToken;
    } catch (error) {
      if (generation !== this.generation) return this.token;
      if (error instanceof ApiError && error.status === 401) {
        // No login (page load) or not any more: the login page, at the same URL.
        this.clear({ status: 'anonymous', notice: loading ? null : SESSION_ENDED });
        return null;
      }
      if (loading) {
        this.clear({
          status: 'anonymous',
          notice: `Could not check your session: ${error instanceof Error ? error.message : String(error)}`,
        });
        return null;
      }
      // A passing failure: the token in hand may still be good for a while; try again soon.
      console.warn('token refresh failed; retrying', error);
      this.schedule(this.retryMs);
      return null;
    }
  }

  private adopt(grant: AccessGrant): void {
    this.token = grant.accessToken;
    this.schedule(refreshDelay(grant.expiresIn * 1000, this.refreshLeadMs));
    for (const listener of this.tokenListeners) listener(grant.accessToken);
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delayMs);
  }

  private clear(state: SessionState): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.token = null;
    this.setState(state);
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
}
