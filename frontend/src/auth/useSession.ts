// React access to the auth session: the context that carries it, its state, the signed-in identity
// and what that identity's role permits.
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Identity } from '../api/types';
import { type Action, deniedReason } from './permissions';
import type { AuthSession, SessionState } from './session';

export const SessionContext = createContext<AuthSession | null>(null);

export function useSession(): AuthSession {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession must be used inside <SessionContext.Provider>');
  return session;
}

export function useSessionState(): SessionState {
  const session = useSession();
  return useSyncExternalStore(
    (notify) => session.subscribe(notify),
    () => session.getState(),
  );
}

/** The signed-in identity (null while signed out). */
export function useIdentity(): Identity | null {
  const state = useSessionState();
  return state.status === 'authenticated' ? state.identity : null;
}

export interface Permission {
  allowed: boolean;
  /** Why not ("Needs the operator role"), for the disabled control's tooltip. */
  reason: string | null;
}

export function usePermission(action: Action): Permission {
  const identity = useIdentity();
  if (!identity) return { allowed: false, reason: 'Sign in first' };
  const reason = deniedReason(identity.role, action);
  return { allowed: reason === null, reason };
}
