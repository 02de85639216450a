// App-wide providers: the QueryClient and the one live WebSocket of the tab.
import { useEffect, useState, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from '../api/client';
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
}

export function AppProviders({ children, queryClient, stream }: AppProvidersProps) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  const [socket] = useState(() =>
    stream ? null : new RealtimeSocket({ url: socketUrl(window.location) }),
  );
  useEffect(() => {
    if (!socket) return;
    socket.start();
    return () => socket.stop();
  }, [socket]);
  const value = stream ?? socket;
  return (
    <QueryClientProvider client={client}>
      <RealtimeContext.Provider value={value}>{children}</RealtimeContext.Provider>
    </QueryClientProvider>
  );
}
