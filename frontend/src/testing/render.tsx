// Render helper: the app's providers with a fresh QueryClient, a fake live stream and a session
// signed in (as admin unless a test says otherwise).
import type { ReactElement } from 'react';
import { render, type RenderResult } from '@testing-library/react';
import { QueryClient } from '@tanstack/react-query';
import { AppProviders } from '../app/providers';
import type { AuthSession } from '../auth/session';
import { signedInSession } from './fakeAuth';
import { FakeRealtime } from './fakeRealtime';
import { SAMPLE_NOW } from './sampleData';

export interface RenderWithAppResult extends RenderResult {
  stream: FakeRealtime;
  queryClient: QueryClient;
  session: AuthSession;
}

export function renderWithApp(
  ui: ReactElement,
  stream = new FakeRealtime(SAMPLE_NOW),
  session: AuthSession = signedInSession('admin'),
): RenderWithAppResult {
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
  });
  const result = render(ui, {
    wrapper: ({ children }) => (
      <AppProviders queryClient={queryClient} stream={stream} session={session}>
        {children}
      </AppProviders>
    ),
  });
  return { ...result, stream, queryClient, session };
}

/** A canned answer, or a function of the request URL that returns one. */
export class Dynamic {
  constructor(readonly answer: (url: URL) => unknown) {}
}

/** Routes `fetch` calls by URL path to canned JSON responses (404 problem for anything else). */
export function mockFetch(routes: Record<string, unknown>): ReturnType<typeof vi.fn> {
  const mock = vi.fn(async (input: RequestInfo | URL) => {
    const href = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
    const url = new URL(href, 'http://localhost');
    if (url.pathname in routes) {
      const route = routes[url.pathname];
      const body = route instanceof Dynamic ? route.answer(url) : route;
      return new Response(JSON.stringify(body), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    }
    return new Response(
      JSON.stringify({
        type: 'about:blank',
        title: 'Not Found',
        status: 404,
        detail: `No route ${url.pathname}`,
      }),
      { status: 404, headers: { 'content-type': 'application/problem+json' } },
    );
  });
  vi.stubGlobal('fetch', mock);
  return mock;
}
