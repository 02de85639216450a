import { ApiError, getJson, setAuthProvider } from '../api/client';
import { FakeAuthApi, identityOf } from '../testing/fakeAuth';
import { AuthSession, refreshDelay, SESSION_ENDED } from './session';

function create(configure: (api: FakeAuthApi) => void = () => undefined) {
  const api = new FakeAuthApi();
  configure(api);
  const session = new AuthSession({ api, refreshLeadMs: 60_000, retryMs: 15_000 });
  return { api, session };
}

describe('AuthSession', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on page load, a login held by the refresh cookie signs in without the form', async () => {
    const { api, session } = create((a) => {
      a.cookie = true;
    });
    expect(session.getState()).toEqual({ status: 'loading' });
    await session.start();
    expect(session.getState()).toEqual({ status: 'authenticated', identity: identityOf('admin') });
    expect(session.accessToken()).toBe('access-1');
    expect(api.calls).toMatchObject({ refresh: 1, me: 1 });
  });

  it('on page load without a login shows the login page, without a notice', async () => {
    const { session } = create();
    await session.start();
    expect(session.getState()).toEqual({ status: 'anonymous', notice: null });
    expect(session.accessToken()).toBeNull();
  });

  it('logs in with the right password and refuses a wrong one with the problem', async () => {
    const { api, session } = create((a) => {
      a.users.op = ['secret-op1', 'operator'];
    });
    await session.start();
    const error = await session.login('op', 'wrong').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(session.getState()).toMatchObject({ status: 'anonymous' });

    await session.login('op', 'secret-op1');
    expect(session.getState()).toEqual({
      status: 'authenticated',
      identity: identityOf('operator', 'op'),
    });
    expect(api.calls.login).toBe(2);
  });

  it('refreshes silently a minute before the access token expires', async () => {
    vi.useFakeTimers();
    const { api, session } = create();
    api.expiresIn = 900;
    const tokens: string[] = [];
    session.onToken((token) => tokens.push(token));
    await session.login('admin', 'secret-admin');
    expect(tokens).toEqual(['access-1']);

    await vi.advanceTimersByTimeAsync(839_000);
    expect(api.calls.refresh).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(api.calls.refresh).toBe(1);
    expect(session.accessToken()).toBe('access-2');
    expect(tokens).toEqual(['access-1', 'access-2']);
    // ...and again for the new token.
    await vi.advanceTimersByTimeAsync(840_000);
    expect(api.calls.refresh).toBe(2);
    expect(session.getState()).toMatchObject({ status: 'authenticated' });
  });

  it('refreshes short-lived tokens halfway', () => {
    expect(refreshDelay(900_000, 60_000)).toBe(840_000);
    expect(refreshDelay(90_000, 60_000)).toBe(45_000);
    expect(refreshDelay(0, 60_000)).toBe(0);
  });

  it('after a refresh that failed for a passing reason, keeps the login and retries', async () => {
    vi.useFakeTimers();
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    api.refreshError = new ApiError({ type: 'about:blank', title: 'Network error', status: 0 });
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await vi.advanceTimersByTimeAsync(840_000);
    expect(api.calls.refresh).toBe(1);
    expect(session.getState()).toMatchObject({ status: 'authenticated' });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(api.calls.refresh).toBe(2);
    expect(session.accessToken()).toBe('access-2');
  });

  it('a refused refresh ends the login with a notice', async () => {
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    api.cookie = false;
    await expect(session.refresh()).resolves.toBeNull();
    expect(session.getState()).toEqual({ status: 'anonymous', notice: SESSION_ENDED });
    expect(session.accessToken()).toBeNull();
  });

  it('concurrent renewals share one refresh; a caller with a stale token gets the new one', async () => {
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    api.hold();
    const renewals = [session.renew('access-1'), session.renew('access-1'), session.refresh()];
    api.release();
    await expect(Promise.all(renewals)).resolves.toEqual(['access-2', 'access-2', 'access-2']);
    expect(api.calls.refresh).toBe(1);
    // A 401 for the old token after the refresh finished: no second refresh.
    await expect(session.renew('access-1')).resolves.toBe('access-2');
    expect(api.calls.refresh).toBe(1);
  });

  it('signs out: backend logout, no token, login page', async () => {
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    await session.logout();
    expect(api.calls.logout).toBe(1);
    expect(api.cookie).toBe(false);
    expect(session.accessToken()).toBeNull();
    expect(session.getState()).toEqual({ status: 'anonymous', notice: null });
    await expect(session.renew(null)).resolves.toBeNull();
  });
});

describe('API calls with the session', () => {
  /** A backend that accepts only `valid` as bearer token; records the tokens it was sent. */
  function backend(valid: () => string | null) {
    const seen: Array<string | null> = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
        const auth = new Headers(init?.headers).get('Authorization');
        const token = auth?.replace(/^Bearer /, '') ?? null;
        seen.push(token);
        if (token === null || token !== valid()) {
          return new Response(
            JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401 }),
            {
              status: 401,
              headers: { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer' },
            },
          );
        }
        return new Response('{"ok":true}', { headers: { 'content-type': 'application/json' } });
      }),
    );
    return seen;
  }

  it('sends the bearer token; concurrent 401s share one refresh and each retries once', async () => {
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    const uninstall = setAuthProvider(session);
    try {
      // The backend already considers access-1 expired: only a refreshed token is accepted.
      const seen = backend(() => 'access-2');
      const answers = await Promise.all([
        getJson('/api/v1/twins'),
        getJson('/api/v1/twins/a'),
        getJson('/api/v1/twins/b'),
      ]);
      expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      expect(api.calls.refresh).toBe(1);
      expect(seen.filter((t) => t === 'access-1')).toHaveLength(3);
      expect(seen.filter((t) => t === 'access-2')).toHaveLength(3);
    } finally {
      uninstall();
    }
  });

  it('when the refresh is refused, the call fails with the 401 and the login page shows', async () => {
    const { api, session } = create();
    await session.login('admin', 'secret-admin');
    api.cookie = false;
    const uninstall = setAuthProvider(session);
    try {
      const seen = backend(() => null);
      const error = await getJson('/api/v1/twins').catch((e: unknown) => e);
      expect((error as ApiError).status).toBe(401);
      expect(seen).toEqual(['access-1']);
      expect(session.getState()).toEqual({ status: 'anonymous', notice: SESSION_ENDED });
    } finally {
      uninstall();
    }
  });
});
