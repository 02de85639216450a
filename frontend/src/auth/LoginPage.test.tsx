import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AppProviders } from '../app/providers';
import { FakeAuthApi } from '../testing/fakeAuth';
import { FakeRealtime } from '../testing/fakeRealtime';
import { FakeWebSocket } from '../testing/fakeWebSocket';
import { SAMPLE_NOW } from '../testing/sampleData';
import { AuthGate } from './AuthGate';
import { AuthSession } from './session';
import { UserMenu } from './UserMenu';

function Dashboard() {
  return (
    <header>
      <h1>dashboard</h1>
      <UserMenu />
    </header>
  );
}

/** The providers with a real session over a fake auth API; `live`: a real socket on FakeWebSocket. */
function renderGate(api: FakeAuthApi, live = false) {
  const session = new AuthSession({ api });
  if (live) vi.stubGlobal('WebSocket', FakeWebSocket);
  render(
    <AppProviders session={session} stream={live ? undefined : new FakeRealtime(SAMPLE_NOW)}>
      <AuthGate>
        <Dashboard />
      </AuthGate>
    </AppProviders>,
  );
  return session;
}

async function signIn(username: string, password: string) {
  const user = userEvent.setup();
  const form = await screen.findByRole('form', { name: 'Sign in' });
  expect(form).toBeInTheDocument();
  await user.type(screen.getByRole('textbox', { name: 'Username' }), username);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: 'Sign in' }));
  return user;
}

describe('LoginPage and AuthGate', () => {
  beforeEach(() => FakeWebSocket.reset());

  it('shows the login page when no login is held, and the dashboard after signing in', async () => {
    const api = new FakeAuthApi();
    api.users.viewer1 = ['viewer-pass', 'viewer'];
    renderGate(api);
    await signIn('viewer1', 'viewer-pass');
    expect(await screen.findByRole('heading', { name: 'dashboard' })).toBeInTheDocument();
    expect(screen.getByRole('status', { name: 'Signed in as' })).toHaveTextContent(
      'viewer1 · viewer',
    );
    expect(screen.queryByRole('form', { name: 'Sign in' })).not.toBeInTheDocument();
  });

  it('shows the problem of a refused login and keeps the form', async () => {
    renderGate(new FakeAuthApi());
    await signIn('admin', 'nope');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not sign in: Unauthorized');
    expect(alert).toHaveTextContent('Incorrect username or password.');
    expect(screen.getByLabelText('Password')).toHaveValue('');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  });

  it('skips the form when the refresh cookie still holds a login', async () => {
    const api = new FakeAuthApi();
    api.cookie = true;
    renderGate(api);
    expect(await screen.findByRole('status', { name: 'Signed in as' })).toHaveTextContent(
      'admin · admin',
    );
    expect(api.calls.refresh).toBe(1);
  });

  it('signs out: logout is called, the socket closes and the login page shows', async () => {
    const api = new FakeAuthApi();
    api.cookie = true;
    const session = renderGate(api, true);
    await screen.findByRole('status', { name: 'Signed in as' });
    const ws = FakeWebSocket.latest;
    act(() => ws.open());
    expect(JSON.parse(ws.sent[0] ?? '{}')).toEqual({
      type: 'auth',
      token: session.accessToken(),
    });

    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('form', { name: 'Sign in' })).toBeInTheDocument();
    await waitFor(() => expect(api.calls.logout).toBe(1));
    expect(ws.closedWith?.code).toBe(1000);
    expect(session.accessToken()).toBeNull();
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});
