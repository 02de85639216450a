// Signing in to the dashboard against the real backend: the login page for anonymous visitors,
// a refused password, what an operator and a viewer may do with the desired state, signing out,
// a reload that stays signed in through the refresh cookie, where the tokens are kept, and the
// renewals: one shared refresh for concurrent 401s, and a WebSocket closed with 4401.
import type { WebSocketRoute } from '@playwright/test';
import { OPERATOR, VIEWER } from './support/accounts';
import { machines, openMachine } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

test('an anonymous visit shows the login page, not the dashboard', async ({ page }) => {
  await page.goto('/?view=alerts');
  const form = page.getByRole('form', { name: 'Sign in' });
  await expect(form).toBeVisible();
  await expect(form.getByRole('textbox', { name: 'Username' })).toBeVisible();
  await expect(form.getByLabel('Password')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Machines' })).toHaveCount(0);
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveCount(0);
  await expect(page).toHaveURL(/\?view=alerts$/);
});

test('a wrong password is refused with the problem details', async ({ page }) => {
  await page.goto('/');
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByRole('textbox', { name: 'Username' }).fill(OPERATOR.username);
  await form.getByLabel('Password').fill('not-the-password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  const alert = form.getByRole('alert');
  await expect(alert).toContainText('Could not sign in');
  await expect(alert).not.toContainText('[object Object]');
  await expect(form.getByLabel('Password')).toHaveValue('');
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveCount(0);
});

test('an operator sees the fleet and changes the desired state', async ({ page, request }) => {
  const fleet = await machines(request);
  const id = fleet.at(-1)?.id ?? '';
  await signIn(page, '/', OPERATOR);
  await expect(page.getByRole('table', { name: 'Machines' }).getByRole('rowheader')).toHaveCount(
    fleet.length,
  );
  const panel = await openMachine(page, id);
  const desired = panel.getByRole('region', { name: 'Desired state' });
  const editor = desired.getByRole('textbox');
  await expect(editor).toBeEnabled();
  await editor.fill('{"mode": "standby"}');
  await desired.getByRole('button', { name: 'Apply patch' }).click();
  await expect(desired.getByText(/Sent as desired version \d+\./)).toBeVisible();
  const command = desired.getByRole('status', { name: 'Command status' });
  await expect(command).toContainText('accepted', { timeout: 20_000 });
  await expect(desired.getByRole('alert')).toHaveCount(0);
});

test('a viewer sees the desired editor disabled, with the reason', async ({ page, request }) => {
  const [first] = await machines(request);
  await signIn(page, '/', VIEWER);
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveText('viewer1 · viewer');
  const panel = await openMachine(page, first?.id ?? '');
  const desired = panel.getByRole('region', { name: 'Desired state' });
  // Reading is allowed: the table of settings is there.
  await expect(desired.getByRole('table', { name: 'Reported vs desired' })).toBeVisible();
  for (const control of [
    desired.getByRole('textbox'),
    desired.getByRole('button', { name: 'Apply patch' }),
  ]) {
    await expect(control).toBeDisabled();
    await expect(control).toHaveAttribute('title', 'Needs the operator role');
    await expect(control).toHaveAccessibleDescription('Needs the operator role');
  }
});

test('signing out returns to the login page, and stays out after a reload', async ({ page }) => {
  await signIn(page, '/?view=alerts', OPERATOR);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
});

test('a reload keeps the user signed in through the refresh cookie', async ({ page }) => {
  await signIn(page, '/?view=alerts', VIEWER);
  await page.reload();
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveText('viewer1 · viewer');
  await expect(page.getByRole('form', { name: 'Sign in' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Anomalies' })).toBeVisible();
  // The live stream authenticated too.
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText(/Live/);
});

test('the access token stays in memory and the refresh token in an HttpOnly cookie', async ({
  page,
}) => {
  await signIn(page, '/', OPERATOR);
  const stored = await page.evaluate(() => ({
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    cookie: document.cookie,
  }));
  expect(stored).toEqual({ local: [], session: [], cookie: '' });
  const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'dtwin_refresh');
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth' });
});

test('concurrent 401s share one refresh, the calls are retried and the socket renewed', async ({
  page,
  request,
}) => {
  const [first] = await machines(request);
  const id = first?.id ?? '';
  await signIn(page, '/', OPERATOR);
  const sentTypes: string[] = [];
  const tokens = new Set<string>();
  const received: string[] = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type: string; token?: string };
      sentTypes.push(message.type);
      if (message.token) tokens.add(message.token);
    });
    ws.on('framereceived', ({ payload }) => {
      received.push((JSON.parse(String(payload)) as { type: string }).type);
    });
  });
  // Reload so the socket is watched from its first frame (the cookie keeps the login).
  await page.reload();
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText(/Live/);
  const tokensBefore = tokens.size;

  // Every machine request is refused once, as if the access token had expired.
  const refused = new Set<string>();
  await page.route(`**/api/v1/twins/${id}**`, async (route) => {
    const url = route.request().url();
    if (refused.has(url)) return route.continue();
    refused.add(url);
    return route.fulfill({
      status: 401,
      contentType: 'application/problem+json',
      headers: { 'WWW-Authenticate': 'Bearer' },
      body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401 }),
    });
  });
  const refreshes: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(r.method());
  });
  const panel = await openMachine(page, id);
  await expect(panel.getByRole('region', { name: 'Desired state' })).toBeVisible();
  await expect(panel.getByRole('alert')).toHaveCount(0);
  expect(refused.size).toBeGreaterThan(1);
  // A second refresh would have presented a used refresh token and ended the login.
  expect(refreshes).toEqual(['POST']);
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveText(
    'operator1 · operator',
  );
  // The live connection was renewed with the new token and kept going.
  await expect.poll(() => received.includes('authenticated')).toBe(true);
  expect(tokens.size).toBe(tokensBefore + 1);
  expect(sentTypes[0]).toBe('auth');
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText(/Live/);
});

test('a socket closed with 4401 refreshes, reconnects and resumes', async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  /** What the page sent on each connection, in order. */
  const sent: Array<Array<Record<string, unknown>>> = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    const messages: Array<Record<string, unknown>> = [];
    sent.push(messages);
    ws.onMessage((message) => {
      messages.push(JSON.parse(String(message)) as Record<string, unknown>);
      server.send(message);
    });
    sockets.push(ws);
  });
  const refreshes: number[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(Date.now());
  });
  await signIn(page, '/', VIEWER);
  const badge = page.getByRole('status', { name: 'Connection' });
  await expect(badge).toHaveText(/Live/);
  // The fleet's snapshot is in (it has a seq to resume after).
  await expect(
    page.getByRole('table', { name: 'Machines' }).getByRole('rowheader').first(),
  ).toBeVisible();
  const before = refreshes.length;

  await sockets.at(-1)?.close({ code: 4401, reason: 'test: token expired' });
  await expect.poll(() => sockets.length).toBe(2);
  await expect(badge).toHaveText(/Live/);
  expect(refreshes.length).toBe(before + 1);
  const [old, renewed] = sent;
  expect([old?.[0]?.type, renewed?.[0]?.type]).toEqual(['auth', 'auth']);
  expect(renewed?.[0]?.token).not.toBe(old?.[0]?.token);
  // The fleet came back where it left off.
  expect(renewed).toContainEqual(
    expect.objectContaining({ type: 'subscribe', sub: 'fleet', resume_after: expect.any(Number) }),
  );
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveText('viewer1 · viewer');
});
