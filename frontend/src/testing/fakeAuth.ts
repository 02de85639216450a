// Auth doubles: identities per role, a signed-in session for component tests, and a scriptable
// AuthApi that counts calls and lets a test hold an answer back (to make calls overlap).
import { ApiError } from '../api/client';
import type { Identity, Role } from '../api/types';
import type { AccessGrant, AuthApi } from '../auth/api';
import { AuthSession, type AuthSessionOptions } from '../auth/session';

export function identityOf(role: Role, name: string = role): Identity {
  return { kind: 'user', id: `id-${name}`, name, role };
}

/** A session signed in as `role` (no expiry timer: the token is never refreshed by itself). */
export function signedInSession(
  role: Role = 'admin',
  options: AuthSessionOptions = {},
): AuthSession {
  return new AuthSession({
    api: new FakeAuthApi(),
    ...options,
    initial: { identity: identityOf(role), accessToken: `token-${role}` },
  });
}

export function unauthorized(detail = 'Sign in again.'): ApiError {
  return new ApiError({ type: 'about:blank', title: 'Unauthorized', status: 401, detail });
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The backend's auth endpoints in memory: `users` maps names to [password, role]; every refresh
 * issues token `access-<n>`; `cookie` says whether a login is held; `hold()` parks the next refresh.
 */
export class FakeAuthApi implements AuthApi {
  users: Record<string, [string, Role]> = { admin: ['secret-admin', 'admin'] };
  cookie = false;
  expiresIn = 900;
  calls = { login: 0, refresh: 0, logout: 0, me: 0 };
  /** An error the next refresh fails with (once). */
  refreshError: Error | null = null;
  private issued = 0;
  private owners = new Map<string, Identity>();
  private held: Array<Deferred<void>> = [];
  private holdNext = false;

  /** The next refresh waits until `release()`. */
  hold(): void {
    this.holdNext = true;
  }

  release(): void {
    for (const gate of this.held.splice(0)) gate.resolve();
  }

  async login(username: string, password: string): Promise<AccessGrant> {
    this.calls.login += 1;
    const user = this.users[username];
    if (!user || user[0] !== password) throw unauthorized('Incorrect username or password.');
    this.cookie = true;
    return this.issue(identityOf(user[1], username));
  }

  async refresh(): Promise<AccessGrant> {
    this.calls.refresh += 1;
    if (this.holdNext) {
      this.holdNext = false;
      const gate = deferred<void>();
      this.held.push(gate);
      await gate.promise;
    }
    if (this.refreshError) {
      const error = this.refreshError;
      this.refreshError = null;
      throw error;
    }
    if (!this.cookie) throw unauthorized('No refresh token.');
    const last = [...this.owners.values()].at(-1) ?? identityOf('admin');
    return this.issue(last);
  }

  async logout(): Promise<void> {
    this.calls.logout += 1;
    this.cookie = false;
  }

  async me(accessToken: string): Promise<Identity> {
    this.calls.me += 1;
    const identity = this.owners.get(accessToken);
    if (!identity) throw unauthorized('Invalid token.');
    return identity;
  }

  private issue(identity: Identity): AccessGrant {
    this.issued += 1;
    const accessToken = `access-${this.issued}`;
    this.owners.set(accessToken, identity);
    return { accessToken, expiresIn: this.expiresIn };
  }
}
