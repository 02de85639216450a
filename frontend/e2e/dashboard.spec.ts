// The dashboard against the real backend in demo mode: fleet listed, machine selected, chart live.
import { expect, test } from '@playwright/test';

test('lists the fleet and charts a machine live', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('dtwin — plant digital twin');
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText(/Live/);

  const table = page.getByRole('table', { name: 'Machines' });
  const machineButtons = table.getByRole('button');
  await expect(machineButtons.first()).toBeVisible();
  await expect(machineButtons).toHaveCount(5);

  const machineId = (await machineButtons.first().textContent())?.trim() ?? '';
  expect(machineId).not.toBe('');
  await machineButtons.first().click();
  await expect(page).toHaveURL(new RegExp(`[?&]machine=${encodeURIComponent(machineId)}`));

  const panel = page.getByRole('region', { name: `Machine ${machineId}` });
  await expect(panel.locator('.js-plotly-plot .main-svg').first()).toBeVisible();

  // The chart grows with live data: the latest sample time moves on within 15 s.
  const status = panel.getByRole('status', { name: 'Chart status' });
  await expect(status).toContainText('Live.');
  const latest = status.locator('time');
  await expect(latest).toHaveText(/\d\d:\d\d:\d\d UTC/);
  const first = await latest.textContent();
  await expect(latest).not.toHaveText(first ?? '', { timeout: 15_000 });
  await expect(panel.locator('.js-plotly-plot .scatterlayer .trace').first()).toBeVisible();
});

test('shows problem details for an unknown machine', async ({ page }) => {
  await page.goto('/?machine=does-not-exist');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Could not load does-not-exist');
  await expect(alert).not.toContainText('[object Object]');
});
