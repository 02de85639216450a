import { ApiError } from '../api/client';
import { authApi } from './api';

interface Sent {
  url: string;
  method: string;
  contentType: string | null;
  body: unknown;
}

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push({
        url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
        method: init?.method ?? 'GET',
        contentType: new Headers(init?.headers).get('Content-Type'),
        body: init?.body,
      });
      return new Response(body === null ? null : JSON.stringify(body), {
        status,
        headers: {
          'content-type': status < 400 ? 'application/json' : 'application/problem+json',
          ...headers,
        },
      });
    }),
  );
  return sent;
}

const PAIR = {
  access_token: 'acc',
  token_type: 'bearer',
  expires_in: 900,
  refresh_token: 'never-kept',
  refresh_expires_in: 1_209_600,
};

describe('authApi', () => {
  it('logs in with a form and keeps only the access token of the answer', async () => {
    const sent = answer(200, PAIR);
    await expect(authApi.login('admin', 'p&ss word')).resolves.toEqual({
      accessToken: 'acc',
      expiresIn: 900,
    });
    expect(sent).toEqual([
      {
        url: '/api/v1/auth/token',
        method: 'POST',
        contentType: 'application/x-www-form-urlencoded',
        body: 'username=admin&password=p%26ss+word',
      },
    ]);
  });

  it('refreshes and logs out with no body: the cookie carries the refresh token', async () => {
    const sent = answer(200, PAIR);
    await authApi.refresh();
    expect(sent[0]).toMatchObject({ url: '/api/v1/auth/refresh', method: 'POST', body: undefined });
    const logout = answer(204, null);
    await authApi.logout();
    expect(logout[0]).toMatchObject({
      url: '/api/v1/auth/logout',
      method: 'POST',
      body: undefined,
    });
  });

  it('says when to try again after too many attempts (429 Retry-After)', async () => {
    answer(
      429,
      { type: 'about:blank', title: 'Too Many Requests', status: 429, detail: 'Slow down.' },
      { 'retry-after': '42' },
    );
    const error = await authApi.login('admin', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problem).toMatchObject({
      status: 429,
      title: 'Too Many Requests',
      detail: 'Slow down. Try again in 42 s.',
    });
  });
});
