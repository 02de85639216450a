// Playwright: the built dashboard served by the real backend in embedded demo mode.
// `npm run e2e` builds frontend/dist first; the backend serves it at `/`.
// Benchmarks and screenshots have their own config (playwright.bench.config.ts).
import { defineConfig } from '@playwright/test';
import { AUTH_ENV } from './e2e/support/accounts';
import { chromiumLaunch, pickPort } from './e2e/support/chromium';

const PORT = pickPort('PW_PORT');
const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: './e2e',
  testIgnore: ['**/perf.spec.ts', '**/screenshots.spec.ts', '**/_local/**'],
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: chromiumLaunch,
  },
  webServer: {
    // Six machines, one of which (motor-0004) develops a fault 25 s in: see e2e/anomalies.spec.ts.
    command: `../.venv/bin/dtwin demo --host 127.0.0.1 --port ${PORT} --scenario ../data-pipeline/scenarios/e2e-fault.yaml`,

    url: `${BASE_URL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    // a fresh database per run, so runs never see each other's history; `admin` signs in with the
    // tests' password and logins are not rate-limited to a person's pace (e2e/support/accounts.ts)
    env: {
      DTWIN_DATABASE_URL: `sqlite+aiosqlite:////tmp/dtwin-playwright-${PORT}.db`,
      // models, secrets and the demo's mail sink (var/mail) in a directory of the run, not the checkout
      DTWIN_DATA_DIR: `/tmp/dtwin-playwright-${PORT}`,
      ...AUTH_ENV,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
