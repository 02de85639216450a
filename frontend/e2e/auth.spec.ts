// Signing in to the dashboard against the real backend: the login page for anonymous visitors,
// a refused password, what an operator and a viewer may do with the desired state, signing out,
// and a reload that stays signed in through the refresh cookie.
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
