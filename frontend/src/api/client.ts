// The one fetch client: relative URLs, JSON in and out, the session's bearer token (one renewal and
// retry on a 401), every failure turned into an ApiError carrying RFC 9457 problem details so the UI
// can show title/detail.
import type { ProblemDetails } from './types';

export class ApiError extends Error {
  readonly problem: ProblemDetails;

  constructor(problem: ProblemDetails) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'ApiError';
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  // FastAPI's default validation errors put a list in `detail`; never show "[object Object]".
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** Builds ProblemDetails from any error response body, problem+json or not. */
export function toProblem(status: number, statusText: string, body: unknown): ProblemDetails {
  const fallbackTitle = statusText || `HTTP ${status}`;
  if (isRecord(body)) {
    return {
      type: typeof body.type === 'string' ? body.type : 'about:blank',
      title: typeof body.title === 'string' && body.title ? body.title : fallbackTitle,
      status: typeof body.status === 'number' ? body.status : status,
      detail: asText(body.detail) ?? null,
      instance: typeof body.instance === 'string' ? body.instance : null,
      // A 422's list of failing fields (`loc`, `msg`), so forms can show each next to its field.
      ...(Array.isArray(body.errors) ? { errors: body.errors.filter(isRecord) } : {}),
    };
  }
  const text = typeof body === 'string' ? body.trim().slice(0, 300) : '';
  return { type: 'about:blank', title: fallbackTitle, status, detail: text || null };
}

async function readBody(response: Response): Promise<unknown> {
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (contentType.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

type QueryValue = string | number | boolean;

/** Query parameters; an array repeats the parameter (`state=a&state=b`), undefined leaves it out. */
export type QueryParams = Record<string, QueryValue | readonly QueryValue[] | undefined>;

export function buildUrl(path: string, params?: QueryParams): string {
  if (!params) return path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly QueryValue[]) search.append(key, String(item));
    } else {
      search.set(key, String(value));
    }
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}

/**
 * Where requests get their bearer token (the auth session). With none, requests go without one
 * (component tests). `renew` is given the token a request was refused with and returns a usable
 * one (a newer one already held, or one refresh shared by every caller) or null: sign in again.
 */
export interface AuthProvider {
  accessToken(): string | null;
  renew(stale: string | null): Promise<string | null>;
}

let authProvider: AuthProvider | null = null;

/** Installs the auth session the client asks for tokens; returns the uninstaller. */
export function setAuthProvider(provider: AuthProvider | null): () => void {
  authProvider = provider;
  return () => {
    if (authProvider === provider) authProvider = null;
  };
}

export function networkError(error: unknown): ApiError {
  return new ApiError({
    type: 'about:blank',
    title: 'Network error',
    status: 0,
    detail: error instanceof Error ? error.message : 'The backend could not be reached.',
  });
}

/** The ApiError of a failed response (problem+json or not). */
export async function errorOf(response: Response): Promise<ApiError> {
  return new ApiError(toProblem(response.status, response.statusText, await readBody(response)));
}

/**
 * fetch with the session's bearer token. A 401 gets one renewal (shared with concurrent 401s:
 * refresh tokens are single-use) and one retry with the new token.
 */
async function authorizedFetch(url: string, init: RequestInit): Promise<Response> {
  const provider = authProvider;
  const attempt = (token: string | null) => {
    const headers = new Headers(init.headers);
    if (token) headers.set('Authorization', `Bearer ${token}`);
    return fetch(url, { ...init, headers });
  };
  const token = provider?.accessToken() ?? null;
  let response: Response;
  try {
    response = await attempt(token);
    if (response.status === 401 && provider) {
      const renewed = await provider.renew(token);
      if (renewed) response = await attempt(renewed);
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw networkError(error);
  }
  return response;
}

/**
 * GETs a JSON document from the backend. The caller states the expected type; the body is not
 * validated beyond being JSON (the types are the contract until generated ones replace them).
 */
export async function getJson<T>(
  path: string,
  params?: QueryParams,
  signal?: AbortSignal,
): Promise<T> {
  const response = await authorizedFetch(buildUrl(path, params), {
    headers: { Accept: 'application/json, application/problem+json' },
    signal,
  });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(toProblem(response.status, response.statusText, body));
  return body as T;
}

/** Sends a JSON body (PATCH/POST/PUT) and returns the JSON answer and its ETag. */
export async function sendJson<T>(
  method: 'PATCH' | 'POST' | 'PUT',
  path: string,
  body: unknown,
  options: { contentType?: string; headers?: Record<string, string> } = {},
): Promise<{ data: T; etag: string | null }> {
  const response = await authorizedFetch(path, {
    method,
    headers: {
      Accept: 'application/json, application/problem+json',
      'Content-Type': options.contentType ?? 'application/json',
      ...options.headers,
    },
    body: JSON.stringify(body),
  });
  const answer = await readBody(response);
  if (!response.ok) throw new ApiError(toProblem(response.status, response.statusText, answer));
  return { data: answer as T, etag: response.headers.get('etag') };
}

/**
 * GETs a file (a report's PDF or CSV) with the session's token: downloads cannot be plain links since
 * the token lives in memory, so the caller turns the Blob into an object URL.
 */
export async function getBlob(path: string, signal?: AbortSignal): Promise<Blob> {
  const response = await authorizedFetch(path, { signal });
  if (!response.ok) throw await errorOf(response);
  return response.blob();
}

/** DELETE (with optional headers such as If-Match); a 204 or any 2xx answer resolves. */
export async function deleteResource(
  path: string,
  options: { headers?: Record<string, string> } = {},
): Promise<void> {
  const response = await authorizedFetch(path, {
    method: 'DELETE',
    headers: { Accept: 'application/json, application/problem+json', ...options.headers },
  });
  if (!response.ok) throw await errorOf(response);
}

/** Problem details for any thrown value, for display. */
export function problemOf(error: unknown): ProblemDetails {
  if (error instanceof ApiError) return error.problem;
  if (error instanceof Error) {
    return { type: 'about:blank', title: 'Unexpected error', status: 0, detail: error.message };
  }
  return {
    type: 'about:blank',
    title: 'Unexpected error',
    status: 0,
    detail: asText(error) ?? null,
  };
}
