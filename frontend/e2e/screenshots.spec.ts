// README screenshots of every view, against a demo with 50 machines (`make screenshots`).
// Writes docs/screenshots/*.png; not part of the test suite.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';
import { machines, openMachine } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'docs', 'screenshots');
const shot = (page: Page, name: string, fullPage = false) =>
  page.screenshot({ path: join(OUT, `${name}.png`), animations: 'disabled', fullPage });

interface Meter {
  id: string;
  site: string;
}

/**
 * Weeks of `energy_kwh` history for the demo's meters, up to their live readings
 * (dtwin_devkit.seed_history, into the database playwright.bench.config.ts gave the demo);
 * returns the first meter of the first site.
 */
async function seedMeterHistory(request: APIRequestContext): Promise<Meter> {
  // Not kept alive: reused after the Energy view had loaded, this socket left the Reports step's
  // POST unanswered until the test timed out (while new connections were answered at once).
  const response = await request.get('/api/v1/twins?machine_type=energy_meter', {
    headers: { Connection: 'close' },
  });
  const meters = ((await response.json()) as { items: Meter[] }).items
    .filter((m) => m.site)
    .sort((a, b) => a.site.localeCompare(b.site) || a.id.localeCompare(b.id));
  expect(meters.length, 'the demo has energy meters').toBeGreaterThan(0);
  const database = process.env.PW_BENCH_DATABASE_URL ?? '';
  expect(database, 'PW_BENCH_DATABASE_URL (playwright.bench.config.ts)').not.toBe('');
  const output = execFileSync(
    join(ROOT, '.venv', 'bin', 'python'),
    ['-m', 'dtwin_devkit.seed_history', '--database-url', database, '--days', '31'].concat([
      '--machines',
      meters.map((m) => m.id).join(','),
    ]),
    { encoding: 'utf8', timeout: 120_000 },
  );
  process.stdout.write(output);
  return meters[0] as Meter;
}

/**
 * A simulated hour and a half of setpoint history for one machine of the demo, before its live readings
 * (dtwin_devkit.seed_settings_history: the demo's simulator run faster than real time, the machine
 * commanded through the device protocol, its readings and settings changes written into the demo's
 * database), so the dry run has steady spans at several settings to learn from.
 */
function seedSettingsHistory(machineId: string): void {
  const database = process.env.PW_BENCH_DATABASE_URL ?? '';
  expect(database, 'PW_BENCH_DATABASE_URL (playwright.bench.config.ts)').not.toBe('');
  const output = execFileSync(
    join(ROOT, '.venv', 'bin', 'python'),
    [
      '-m',
      'dtwin_devkit.seed_settings_history',
      '--database-url',
      database,
      '--machines',
      machineId,
      // the demo's simulator as playwright.bench.config.ts starts it (seed 42), so the same machine
      '--simulator-machines',
      process.env.PW_MACHINES ?? '50',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  process.stdout.write(output);
}

test('screenshots of each view', async ({ page, request }) => {
  // The config's 300 s, plus room for the simulated setpoint history (seedSettingsHistory, ~15 s on 2 cores).
  test.setTimeout(420_000);
  const fleet = await machines(request);
  const pump = fleet.find((t) => t.machine_type === 'centrifugal_pump') ?? fleet[0];
  const faulty = fleet.find((t) => t.machine_type === 'induction_motor') ?? fleet[1];
  const id = pump?.id ?? '';
  // Let history, correlations (100 readings) and decisions accumulate.
  await expect
    .poll(
      async () =>
        (
          (await (await request.get(`/api/v1/twins/${id}/readings?limit=10000`)).json()) as {
            items: unknown[];
          }
        ).items.length,
      { timeout: 240_000, intervals: [5_000] },
    )
    .toBeGreaterThan(150 * 9);
  await expect
    .poll(
      async () =>
        (
          (await (await request.get(`/api/v1/twins/${id}/correlations`)).json()) as {
            matrix: unknown;
          }
        ).matrix !== null,
      { timeout: 240_000, intervals: [5_000] },
    )
    .toBe(true);
  // An operating point far out of range, so the anomaly views have something to show.
  for (const machine of [faulty, pump]) {
    await request.patch(`/api/v1/twins/${machine?.id}/desired`, {
      data: { mode: 'standby' },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
  }
  await page.waitForTimeout(15_000);

  await signIn(page);
  await expect(page.getByRole('table', { name: 'Machines' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Sort' }).selectOption('-anomaly_score');
  await page.waitForTimeout(2_000);
  await shot(page, 'fleet');

  const panel = await openMachine(page, id);
  await expect(panel.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  await page.waitForTimeout(3_000);
  await shot(page, 'dashboard');
  await panel.getByRole('region', { name: 'Desired state' }).scrollIntoViewIfNeeded();
  await shot(page, 'desired');
  // What-if before you command (issue #23): a patch tried with the dry run, its preview before Apply,
  // predicted from the pump's own setpoint history (seeded by simulating it under real commands first).
  seedSettingsHistory(id);
  const desiredPanel = panel.getByRole('region', { name: 'Desired state' });
  await desiredPanel
    .getByRole('textbox')
    .fill(JSON.stringify({ mode: 'on', speed_setpoint_rpm: 2200 }, null, 2));
  const preview = desiredPanel.getByRole('region', { name: 'Preview' });
  const predicted = preview.getByRole('table', { name: 'Predicted steady state' });
  await expect(predicted).toContainText('this machine’s history');
  await expect(predicted).not.toContainText('not enough history');
  await expect(preview).toContainText('Health');
  // The editor alone: the page scrolled this far down leaves the fleet's half of the screen empty.
  await desiredPanel.screenshot({
    path: join(OUT, 'desired-preview.png'),
    animations: 'disabled',
  });

  await panel.getByRole('button', { name: '1 h' }).click();
  await page.waitForTimeout(2_000);
  await panel.getByRole('tab', { name: 'Correlations' }).click();
  await expect(panel.getByRole('table', { name: 'Correlation heatmap' })).toBeVisible();
  await shot(page, 'correlations');
  await panel.getByRole('tab', { name: 'Decisions' }).click();
  await page.waitForTimeout(1_000);
  await shot(page, 'decisions');

  await page
    .getByRole('navigation', { name: 'Views' })
    .getByRole('button', { name: /Anomalies/ })
    .click();
  await expect(
    page.getByRole('list', { name: 'Anomaly events' }).getByRole('listitem').first(),
  ).toBeVisible();
  await shot(page, 'anomalies');

  // Energy: the demo is minutes old, so its meters get weeks of history first (written into the
  // demo's database: the consumer refuses readings that old), then one meter's hours over 31 days
  // with its next 24 h forecast, the site's weekday x hour heatmap and monthly peaks, full width.
  const meter = await seedMeterHistory(request);
  await panel.getByRole('button', { name: 'Close machine' }).click();
  const views = page.getByRole('navigation', { name: 'Views' });
  await views.getByRole('button', { name: 'Energy' }).click();
  const energy = page.getByRole('region', { name: 'Energy' });
  await energy.getByLabel('Site', { exact: true }).fill(meter.site);
  await energy.getByRole('combobox', { name: 'Meter' }).selectOption(meter.id);
  await energy.getByRole('button', { name: 'Hour' }).click();
  await energy.getByRole('button', { name: '31 d' }).click();
  await expect(energy.getByLabel('Energy totals')).toContainText('€');
  const chart = energy.getByRole('figure', { name: 'Consumption per bucket' });
  await expect(chart).toContainText('Dashed: the next 24 h forecast');
  await expect(chart.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  await expect(
    energy.getByRole('table', { name: 'Consumption by weekday and hour' }),
  ).toBeVisible();
  await expect(energy.getByRole('table', { name: 'Monthly peak demand' })).toBeVisible();
  await page.waitForTimeout(2_000);
  await shot(page, 'energy', true);

  // Reports: a definition run now, listed with its files.
  const name = 'Daily maintenance';
  await request.post('/api/v1/reports/definitions', {
    data: { name, kind: 'maintenance', scope: 'fleet', period: 'last_day', schedule: '0 6 * * *' },
  });
  await views.getByRole('button', { name: 'Reports' }).click();
  const reports = page.getByRole('region', { name: 'Reports' });
  await reports.getByRole('button', { name: `Run ${name} now` }).click();
  await expect(reports.getByRole('status', { name: 'Last run' })).toHaveText(/succeeded/, {
    timeout: 120_000,
  });
  await shot(page, 'reports');

  for (const machine of [faulty, pump]) {
    await request.patch(`/api/v1/twins/${machine?.id}/desired`, {
      data: { mode: 'on' },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
  }
});
