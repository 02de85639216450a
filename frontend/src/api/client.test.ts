import { ApiError, buildUrl, getJson, problemOf, toProblem } from './client';

function respond(status: number, body: string, contentType: string) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(body, { status, headers: { 'content-type': contentType } })),
  );
}

describe('getJson', () => {
  it('returns the JSON body of a successful response', async () => {
    respond(200, '{"items":[],"count":0}', 'application/json');
    await expect(getJson('/api/v1/twins')).resolves.toEqual({ items: [], count: 0 });
  });

  it('turns problem+json into an ApiError with title and detail', async () => {
    respond(
      404,
      JSON.stringify({
        type: 'https://dtwin.dev/problems/not-found',
        title: 'Twin not found',
        status: 404,
        detail: "No twin with id 'nope'",
      }),
      'application/problem+json',
    );
    const error = await getJson('/api/v1/twins/nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).problem.title).toBe('Twin not found');
    expect((error as ApiError).message).toBe("Twin not found: No twin with id 'nope'");
  });

  it('never shows [object Object] for structured details', async () => {
    respond(
      422,
      JSON.stringify({ detail: [{ loc: ['query', 'limit'], msg: 'bad' }] }),
      'application/json',
    );
    const error = (await getJson('/x').catch((e: unknown) => e)) as ApiError;
    expect(error.problem.title).toBe('HTTP 422');
    expect(error.problem.detail).toContain('"msg":"bad"');
    expect(error.message).not.toContain('[object Object]');
  });

  it('uses the text of a non-JSON error body', async () => {
    respond(502, 'upstream down', 'text/plain');
    const error = (await getJson('/x').catch((e: unknown) => e)) as ApiError;
    expect(error.problem).toMatchObject({ status: 502, detail: 'upstream down' });
  });

  it('reports a network failure as a problem', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))),
    );
    const error = (await getJson('/x').catch((e: unknown) => e)) as ApiError;
    expect(error.problem).toMatchObject({ title: 'Network error', detail: 'Failed to fetch' });
  });
});

describe('helpers', () => {
  it('builds query strings without undefined values', () => {
    expect(buildUrl('/r', { limit: 10, sensor: undefined, from: 'a b' })).toBe(
      '/r?limit=10&from=a+b',
    );
    expect(buildUrl('/r')).toBe('/r');
  });

  it('repeats a parameter for each item of a list, and writes booleans', () => {
    expect(
      buildUrl('/alarms', { state: ['unack_active', 'ack_active'], priority: [], hidden: false }),
    ).toBe('/alarms?state=unack_active&state=ack_active&hidden=false');
  });

  it("keeps a 422's failing fields for forms", () => {
    const problem = toProblem(422, 'Unprocessable Entity', {
      title: 'Invalid request',
      status: 422,
      detail: 'body.threshold: Input should be a finite number',
      errors: [{ loc: ['body', 'threshold'], msg: 'Input should be a finite number' }, 'junk'],
    });
    expect(problem.errors).toEqual([
      { loc: ['body', 'threshold'], msg: 'Input should be a finite number' },
    ]);
    expect(toProblem(404, 'Not Found', { title: 'Not found' })).not.toHaveProperty('errors');
  });

  it('describes any thrown value', () => {
    expect(problemOf(new Error('boom'))).toMatchObject({
      title: 'Unexpected error',
      detail: 'boom',
    });
    expect(toProblem(500, 'Internal Server Error', null).title).toBe('Internal Server Error');
  });
});
