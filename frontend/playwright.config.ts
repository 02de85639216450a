// Playwright: the built dashboard served by the real backend in embedded demo mode.
// `npm run e2e` builds frontend/dist first; the backend serves it at `/`.
import { defineConfig } from '@playwright/test';

// Chosen once here so the web server and the tests agree; `||=` so an empty variable is ignored.
process.env.PW_PORT ||= String(20000 + Math.floor(Math.random() * 20000));
const PORT = process.env.PW_PORT;
const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: './e2e',
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
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `../.venv/bin/dtwin demo --host 127.0.0.1 --port ${PORT} --machines 5`,
    url: `${BASE_URL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    // a fresh database per run, so runs never see each other's history
    env: { DTWIN_DATABASE_URL: `sqlite+aiosqlite:////tmp/dtwin-playwright-${PORT}.db` },
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
