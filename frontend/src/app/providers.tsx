// App-wide providers: the QueryClient, the auth session and the one live WebSocket of the tab,
// which is open only while someone is signed in.
import { useEffect, useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError, setAuthProvider } from '../api/client';
import { AuthSession } from '../auth/session';
import { SessionContext } from '../auth/useSession';
import { RealtimeSocket, socketUrl, type RealtimeStream } from '../realtime/socket';
import { RealtimeContext } from '../realtime/useRealtime';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // 4xx answers are final (an unknown machine stays unknown); other failures retry twice.
        retry: (failures, error) =>
          !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 2,
        refetchOnWindowFocus: false,
      },
    },
  });
}

interface AppProvidersProps {
  children: ReactNode;
  /** Tests pass their own; the app creates one per page. */
  queryClient?: QueryClient;
  /** Tests pass a fake; the app connects to ws(s)://<page host>/ws. */
  stream?: RealtimeStream;
  /** Tests pass a signed-in one; the app's starts by asking the refresh cookie. */
  session?: AuthSession;
}

export function AppProviders({ children, queryClient, stream, session }: AppProvidersProps) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  const [auth] = useState(() => {
    const created = session ?? new AuthSession();
    // Installed before any child renders: children's queries start in effects, which run
    // before this component's own.
    setAuthProvider(created);
    return created;
  });
  const [socket] = useState(() =>
    stream ? null : new RealtimeSocket({ url: socketUrl(window.location), auth }),
  );
  useEffect(() => setAuthProvider(auth), [auth]);
  useEffect(() => {
    void auth.start();
  }, [auth]);
  useEffect(() => {
    // Signed out: nothing of the last user stays in the cache for the next one.
    const clearOnSignOut = () => {
      if (auth.getState().status === 'anonymous') client.clear();
    };
    return auth.subscribe(clearOnSignOut);
  }, [auth, client]);
  useEffect(() => {
    if (!socket) return;
    const follow = () => {
      if (auth.getState().status === 'authenticated') socket.start();
      else socket.stop();
    };
    follow();
    const offState = auth.subscribe(follow);
    const offToken = auth.onToken((token) => socket.reauthenticate(token));
    return () => {
      offState();
      offToken();
      socket.stop();
    };
  }, [auth, socket]);
  const value = stream ?? socket;
  return (
    <QueryClientProvider client={client}>
      <SessionContext.Provider value={auth}>
        <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>
      </SessionContext.Provider>
    </QueryClientProvider>
  );
}
