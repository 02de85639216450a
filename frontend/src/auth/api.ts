// The auth endpoints (docs/api.md "Auth"): log in, refresh and log out through the HttpOnly refresh
// cookie (Path=/api/v1/auth), and who the access token belongs to. The refresh token of a body is
// never read: the cookie is its only home, out of reach of scripts.
import { ApiError, errorOf, networkError } from '../api/client';
import type { Identity, TokenPair } from '../api/types';

const AUTH = '/api/v1/auth';
const ACCEPT = 'application/json, application/problem+json';

/** An access token and how long it is valid. */
export interface AccessGrant {
  accessToken: string;
  /** Seconds from now. */
  expiresIn: number;
}

/** What the session needs of the backend; tests pass a fake. */
export interface AuthApi {
  login(username: string, password: string): Promise<AccessGrant>;
  /** A new access token (and a rotated cookie) for the refresh cookie; 401: log in again. */
  refresh(): Promise<AccessGrant>;
  logout(): Promise<void>;
  me(accessToken: string): Promise<Identity>;
}

async function post(path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${AUTH}${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      ...init,
      headers: { Accept: ACCEPT, ...init.headers },
    });
  } catch (error) {
    throw networkError(error);
  }
}

/** The error of a failed answer; a 429 says when to try again (Retry-After). */
async function failure(response: Response): Promise<ApiError> {
  const error = await errorOf(response);
  const retryAfter = Number(response.headers.get('retry-after'));
  if (response.status !== 429 || !Number.isFinite(retryAfter) || retryAfter <= 0) return error;
  const wait = `Try again in ${Math.ceil(retryAfter)} s.`;
  return new ApiError({
    ...error.problem,
    detail: error.problem.detail ? `${error.problem.detail} ${wait}` : wait,
  });
}

async function grant(response: Response): Promise<AccessGrant> {
  if (!response.ok) throw await failure(response);
  const pair = (await response.json()) as TokenPair;
  return { accessToken: pair.access_token, expiresIn: pair.expires_in };
}

export const authApi: AuthApi = {
  async login(username, password) {
    return grant(
      await post('/token', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password }).toString(),
      }),
    );
  },

  async refresh() {
    return grant(await post('/refresh'));
  },

  async logout() {
    const response = await post('/logout');
    if (!response.ok) throw await failure(response);
  },

  async me(accessToken) {
    let response: Response;
    try {
      response = await fetch(`${AUTH}/me`, {
        headers: { Accept: ACCEPT, Authorization: `Bearer ${accessToken}` },
      });
    } catch (error) {
      throw networkError(error);
    }
    if (!response.ok) throw await failure(response);
    return (await response.json()) as Identity;
  },
};
