// Energy and reports end to end. The Energy view against the e2e scenario (pumps and motors; it has no
// energy meters unless the scenario gains some): with none it says so, and asking for the scenario's
// site shows the API's note; with meters it shows the site's totals. The Reports page runs a report
// definition now (created through the API), lists the run and downloads its PDF with the session's
// token (a blob URL, so a real download event whose bytes are a PDF), and previews it.
import { readFile } from 'node:fs/promises';
import { expect, signIn, test } from './support/fixtures';
import { machines } from './support/dashboard';

interface MeterList {
  items: Array<{ id: string; site: string | null }>;
}

test('the Energy view shows the site’s energy, or the note of a site without meters', async ({
  page,
  request,
}) => {
  const fleet = await machines(request);
  const response = await request.get('/api/v1/twins?machine_type=energy_meter');
  expect(response.status()).toBe(200);
  const meters = ((await response.json()) as MeterList).items;

  await signIn(page, '/?view=energy');
  const view = page.getByRole('region', { name: 'Energy' });
  await expect(view.getByRole('heading', { name: 'Energy' })).toBeVisible();
  await expect(view.getByRole('group', { name: 'Bucket' })).toBeVisible();
  if (meters.length === 0) {
    await expect(view.getByRole('note', { name: 'Meters' })).toContainText(
      'No energy meters in the fleet',
    );
    // Nothing to choose a meter (or its forecast) from.
    await expect(view.getByRole('combobox', { name: 'Meter' })).toBeDisabled();
    const site = (fleet as Array<{ site?: string | null }>).find((t) => t.site)?.site ?? 'site-1';
    await view.getByRole('combobox', { name: 'Site' }).fill(site);
    await expect(view.getByRole('note', { name: 'Consumption note' })).toContainText(
      `no energy meters (twins reporting energy_kwh) in site '${site}'`,
    );
    await expect(view.getByText(`no energy meters in site '${site}'`)).toHaveCount(2);
  } else {
    await expect(view.getByLabel('Energy totals')).toContainText('Meters');
    await expect(view.getByRole('table', { name: 'Counter events' })).toBeVisible();
  }
  await view.getByRole('button', { name: 'Week' }).click();
  await expect(page).toHaveURL(/[?&]bucket=week/);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath('energy-view.png') });
});

test('the Reports page runs a report now, lists it and downloads its PDF', async ({
  page,
  request,
}) => {
  test.setTimeout(120_000);
  await machines(request);
  const name = `e2e maintenance ${Date.now()}`;
  const created = await request.post('/api/v1/reports/definitions', {
    data: { name, kind: 'maintenance', scope: 'fleet', period: 'last_day', schedule: '0 6 * * *' },
  });
  expect(created.status(), await created.text()).toBe(201);

  await signIn(page, '/?view=reports');
  const view = page.getByRole('region', { name: 'Reports' });
  const definitions = view.getByRole('table', { name: 'Report definitions' });
  const row = definitions.getByRole('row', { name: new RegExp(`^${name}`) });
  await expect(row).toContainText('0 6 * * *');
  await expect(row).toContainText('UTC');

  await row.getByRole('button', { name: `Run ${name} now` }).click();
  const status = view.getByRole('status', { name: 'Last run' });
  await expect(status).toHaveText(/^Run \d+ succeeded/, { timeout: 60_000 });
  const runId = ((await status.textContent()) ?? '').match(/Run (\d+)/)?.[1] ?? '';

  const runs = view.getByRole('table', { name: 'Report runs' });
  const run = runs.getByRole('row', { name: new RegExp(`^${runId}\\b`) });
  await expect(run).toContainText(name);
  await expect(run).toContainText('succeeded');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    run.getByRole('button', { name: `Download PDF of run ${runId}` }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`report-${runId}.pdf`);
  const bytes = await readFile((await download.path()) ?? '');
  expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');

  await run.getByRole('button', { name: `Preview run ${runId}` }).click();
  const frame = view.getByTitle(`Report run ${runId} (PDF)`);
  await expect(frame).toHaveAttribute('src', /^blob:/);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath('reports-page.png') });
});
