// README screenshots of every view, against a demo with 50 machines (`make screenshots`).
// Writes docs/screenshots/*.png; not part of the test suite.
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { machines, openMachine } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

const OUT = join(import.meta.dirname, '..', '..', 'docs', 'screenshots');
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(OUT, `${name}.png`), animations: 'disabled' });

test('screenshots of each view', async ({ page, request }) => {
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

  // Energy: the first metered site in hourly buckets (a young demo has hours, not days, of data).
  const views = page.getByRole('navigation', { name: 'Views' });
  await views.getByRole('button', { name: 'Energy' }).click();
  const energy = page.getByRole('region', { name: 'Energy' });
  await energy.getByRole('button', { name: 'Hour' }).click();
  await expect(
    energy.getByLabel('Energy totals').or(energy.getByRole('note').first()).first(),
  ).toBeVisible();
  await page.waitForTimeout(2_000);
  await shot(page, 'energy');

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
