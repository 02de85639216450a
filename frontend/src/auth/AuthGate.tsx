// Shows its children to a signed-in user only: the login page otherwise (the URL stays, so the user
// lands where they were), and a short wait while the page load asks whether a login is still there.
import type { ReactNode } from 'react';
import { LoginPage } from './LoginPage';
import { useSessionState } from './useSession';

export function AuthGate({ children }: { children: ReactNode }) {
  const state = useSessionState();
  if (state.status === 'loading') {
    return (
      <main className="login" aria-busy="true">
        <p className="muted">Checking your session…</p>
      </main>
    );
  }
  if (state.status === 'anonymous') return <LoginPage notice={state.notice} />;
  return <>{children}</>;
}
