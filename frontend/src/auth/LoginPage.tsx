// The sign-in form: user name and password to POST /auth/token; a refusal (401) or too many
// attempts (429) is shown with the backend's problem details.
import { useState, type FormEvent } from 'react';
import { ErrorNotice } from '../components/ErrorNotice';
import { useSession } from './useSession';

export function LoginPage({ notice }: { notice: string | null }) {
  const session = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    session.login(username.trim(), password).then(
      // On success the page is replaced by the dashboard; nothing to reset.
      () => undefined,
      (failure: unknown) => {
        setError(failure);
        setPassword('');
        setPending(false);
      },
    );
  };

  return (
    <main className="login">
      <form className="login__card" aria-label="Sign in" onSubmit={submit}>
        <h1>
          dtwin <span className="app__subtitle">— plant digital twin</span>
        </h1>
        <h2>Sign in</h2>
        {notice && !error ? (
          <p className="notice notice--warn" role="note">
            {notice}
          </p>
        ) : null}
        <label className="field field--block">
          <span className="field__label">Username</span>
          <input
            className="input"
            name="username"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        </label>
        <label className="field field--block">
          <span className="field__label">Password</span>
          <input
            className="input"
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error ? <ErrorNotice error={error} context="Could not sign in" /> : null}
        <button type="submit" className="button" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
