// Playwright runs that are not tests: the dashboard performance figures (PW_SUITE=perf, a demo with
// 1,000 machines at 1 Hz; `make bench-frontend`) and the README screenshots (PW_SUITE=screenshots,
// 50 machines; `make screenshots`). Both print or write files and never assert timing.
import { defineConfig } from '@playwright/test';
import { AUTH_ENV } from './e2e/support/accounts';
import { chromiumLaunch, pickPort } from './e2e/support/chromium';

const SUITE = process.env.PW_SUITE === 'screenshots' ? 'screenshots' : 'perf';
const MACHINES = process.env.PW_MACHINES ?? (SUITE === 'perf' ? '1000' : '50');
const PORT = pickPort('PW_BENCH_PORT');
const BASE_URL = `http://127.0.0.1:${PORT}`;
// The perf suite's history: this many days of daily rollups for every machine, loaded before the
// backend starts; what was loaded is written to PW_HISTORY_REPORT for the spec (e2e/perf.spec.ts).
const HISTORY_DAYS = (process.env.PW_HISTORY_DAYS ||= '365');
const HISTORY_REPORT =
  (process.env.PW_HISTORY_REPORT ||= `/tmp/dtwin-playwright-bench-${PORT}-history.json`);
const HISTORY = `--history-days ${HISTORY_DAYS} --history-report ${HISTORY_REPORT}`;
// The backend's database; the screenshots spec writes weeks of meter history into it (the demo's
// SQLite file) before the Energy shot.
const DATABASE_URL =
  (process.env.PW_BENCH_DATABASE_URL ||= `sqlite+aiosqlite:////tmp/dtwin-playwright-bench-${PORT}.db`);

export default defineConfig({
  testDir: './e2e',
  testMatch: SUITE === 'perf' ? '**/perf.spec.ts' : '**/screenshots.spec.ts',
  timeout: 300_000,
  expect: { timeout: 60_000 },
  workers: 1,
  retries: 0,
  reporter: 'list',
  use: {
    baseURL: BASE_URL,
    viewport: { width: 1600, height: 1000 },
    launchOptions: chromiumLaunch,
  },
  webServer: {
    // The figures: the backend on throwaway PostgreSQL and Redis (dtwin_devkit.bench.dashboard_backend),
    // which keeps up with 1,000 machines on half a core; `dtwin demo`'s embedded stores would take
    // a whole core of the two the browser is measured on. The screenshots: the plain demo. The perf
    // backend loads a year of daily rollups (1,000 machines) before it answers /healthz: more time.
    command:
      SUITE === 'perf'
        ? `../.venv/bin/python -m dtwin_devkit.bench.dashboard_backend --port ${PORT} --machines ${MACHINES} ${HISTORY}`
        : `../.venv/bin/dtwin demo --host 127.0.0.1 --port ${PORT} --machines ${MACHINES}`,
    // SIGTERM, so the throwaway servers are stopped and removed too.
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    url: `${BASE_URL}/healthz`,
    timeout: SUITE === 'perf' ? 300_000 : 120_000,
    reuseExistingServer: false,
    // `admin` signs in with the tests' password and logins are not rate-limited to a person's pace
    // (e2e/support/accounts.ts)
    env: {
      DTWIN_DATABASE_URL: DATABASE_URL,
      ...AUTH_ENV,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
