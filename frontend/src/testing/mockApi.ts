// A scriptable backend for component tests that send requests: every call is recorded (method,
// path, query, JSON body, headers) and answered by the first route whose method and path match;
// anything else is a 404 problem.
export interface ApiCall {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Headers;
}

/** [status, body]; a body of null sends no content (204). */
export type Answer = [number, unknown];
/** Returns an Answer, or a body to send with 200. */
export type Route = (call: ApiCall) => unknown;

export interface MockApi {
  calls: ApiCall[];
  /** The calls of one method and path. */
  callsTo(method: string, path: string): ApiCall[];
}

/** Routes are keyed `"GET /api/v1/alarms"`; a route returns a body (200) or an Answer. */
export function mockApi(routes: Record<string, Route | object>): MockApi {
  const calls: ApiCall[] = [];
  const mock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const url = new URL(href, 'http://localhost');
    const method = (init?.method ?? 'GET').toUpperCase();
    const text = typeof init?.body === 'string' ? init.body : null;
    const call: ApiCall = {
      method,
      path: url.pathname,
      query: url.searchParams,
      body: text ? (JSON.parse(text) as unknown) : null,
      headers: new Headers(init?.headers),
    };
    calls.push(call);
    const route = routes[`${method} ${url.pathname}`];
    if (route === undefined) {
      return problem(404, 'Not Found', `No route ${method} ${url.pathname}`);
    }
    const result = typeof route === 'function' ? (route as Route)(call) : route;
    const [status, body] = isAnswer(result) ? result : [200, result];
    if (body === null) return new Response(null, { status });
    const type = status >= 400 ? 'application/problem+json' : 'application/json';
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
  });
  vi.stubGlobal('fetch', mock);
  return {
    calls,
    callsTo: (method, path) => calls.filter((c) => c.method === method && c.path === path),
  };
}

function isAnswer(value: unknown): value is Answer {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number';
}

function problem(status: number, title: string, detail: string): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title, status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

/** A 422 answer as the backend sends it (RFC 9457 with `errors`). */
export function invalid(errors: Array<{ loc: Array<string | number>; msg: string }>): Answer {
  return [
    422,
    {
      type: 'about:blank',
      title: 'Invalid request',
      status: 422,
      detail: errors.map((e) => `${e.loc.join('.')}: ${e.msg}`).join('; '),
      errors: errors.map((e) => ({ ...e, type: 'value_error' })),
    },
  ];
}
