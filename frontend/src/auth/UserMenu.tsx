// Header: who is signed in, with which role, and the way out.
import { useIdentity, useSession } from './useSession';

export function UserMenu() {
  const session = useSession();
  const identity = useIdentity();
  if (!identity) return null;
  return (
    <div className="user">
      <span className="user__who" role="status" aria-label="Signed in as">
        {identity.name} · {identity.role}
      </span>
      <button type="button" className="button button--quiet" onClick={() => void session.logout()}>
        Sign out
      </button>
    </div>
  );
}
