// Playwright's `test` for this suite: the accounts exist (created once per worker through the API),
// `request` calls the API as admin with a bearer token, and `signIn` logs in through the login page.
import {
  test as base,
  expect,
  type APIRequestContext,
  type Page,
  type PlaywrightWorkerArgs,
} from '@playwright/test';
import { ADMIN, OPERATOR, VIEWER, type Account } from './accounts';

export { expect };

/** An access token for `account` from POST /auth/token. */
export async function accessToken(request: APIRequestContext, account: Account): Promise<string> {
  const response = await request.post('/api/v1/auth/token', {
    form: { username: account.username, password: account.password },
  });
  expect(response.status(), `login of ${account.username}: ${await response.text()}`).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** An API client that sends `account`'s bearer token on every request. */
export async function apiAs(
  playwright: PlaywrightWorkerArgs['playwright'],
  baseURL: string,
  account: Account,
): Promise<APIRequestContext> {
  const anonymous = await playwright.request.newContext({ baseURL });
  try {
    const token = await accessToken(anonymous, account);
    return await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: { Authorization: `Bearer ${token}` },
    });
  } finally {
    await anonymous.dispose();
  }
}

/**
 * Opens `path` (the login page shows, at that URL; null: the page is already there) and signs in
 * as `account` through the form; returns once the header says who is signed in.
 */
export async function signIn(
  page: Page,
  path: string | null = '/',
  account: Account = ADMIN,
): Promise<void> {
  if (path !== null) await page.goto(path);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByRole('textbox', { name: 'Username' }).fill(account.username);
  await form.getByLabel('Password').fill(account.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('status', { name: 'Signed in as' })).toHaveText(
    `${account.username} · ${account.role}`,
  );
}

/**
 * Logs `account` in through the API of the page's browser context, which shares its cookies: the
 * next page load finds the refresh cookie and skips the form (as a returning user's would).
 */
export async function signInByCookie(page: Page, account: Account = ADMIN): Promise<void> {
  await accessToken(page.context().request, account);
}

export const test = base.extend<object, { accounts: Account[] }>({
  accounts: [
    async ({ playwright }, provide, workerInfo) => {
      const baseURL = workerInfo.project.use.baseURL ?? '';
      const admin = await apiAs(playwright, baseURL, ADMIN);
      for (const account of [OPERATOR, VIEWER]) {
        const response = await admin.post('/api/v1/auth/users', {
          data: { username: account.username, password: account.password, role: account.role },
        });
        // 409: created by an earlier worker of the same run.
        expect([201, 409], await response.text()).toContain(response.status());
      }
      await admin.dispose();
      await provide([ADMIN, OPERATOR, VIEWER]);
    },
    { scope: 'worker', auto: true },
  ],
  request: async ({ playwright, baseURL }, provide) => {
    const request = await apiAs(playwright, baseURL ?? '', ADMIN);
    await provide(request);
    await request.dispose();
  },
});
