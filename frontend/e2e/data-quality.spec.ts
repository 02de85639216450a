// Data quality end to end: a physical range narrowed through the API so that the seized motor of the
// e2e scenario (motor-0004: speed near 0 from 25 s in; a healthy motor runs at ~1,450 rpm) reports
// impossible speeds; the data-quality view counts them and lists the motor, which opens on its
// data-quality tab with the same count, its clock-offset estimate and gaps. The gaps timeline is drawn
// from the API's answer with two gaps added (the simulator leaves none). And a machine's chart over
// a year: one request to the series endpoint, drawn, with its resolution named. The range is put
// back at the end, so the other specs see the catalogue's.
import type { APIRequestContext, Locator } from '@playwright/test';
import { VIEWER } from './support/accounts';
import { machines, openMachine } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

const MOTOR = 'motor-0004';
const TYPE = 'induction_motor';
const SENSOR = 'speed_rpm';
/** Inside the operating range's 1,440 rpm, far above a seized motor's speed. */
const PHYS_LO = 500;

interface SensorSpec {
  name: string;
  phys_lo?: number | null;
  [field: string]: unknown;
}

interface MachineType {
  description: string;
  sensors: SensorSpec[];
  version: number;
}

interface Quality {
  counts: Record<string, number | null>;
  gap_count: number;
  start: string;
  end: string;
  gaps: unknown[];
}

async function machineType(request: APIRequestContext): Promise<MachineType> {
  const response = await request.get(`/api/v1/machine-types/${TYPE}`);
  expect(response.status()).toBe(200);
  return (await response.json()) as MachineType;
}

async function putType(request: APIRequestContext, type: MachineType, sensors: SensorSpec[]) {
  const response = await request.put(`/api/v1/machine-types/${TYPE}`, {
    data: { description: type.description, sensors },
    headers: { 'If-Match': `"${type.version}"` },
  });
  expect(response.status(), await response.text()).toBe(200);
}

async function physicalRange(request: APIRequestContext, path: string): Promise<number> {
  const response = await request.get(path);
  expect(response.status()).toBe(200);
  return ((await response.json()) as Quality).counts.physical_range ?? 0;
}

/** The number in a rule's row of a "Counts per rule" table. */
function ruleCell(table: Locator, rule: string) {
  return table
    .getByRole('row', { name: new RegExp(`^${rule}`) })
    .getByRole('cell')
    .first();
}

test('the data-quality view counts impossible readings and opens the machine on its data-quality tab', async ({
  page,
  request,
}) => {
  test.setTimeout(120_000);
  await machines(request);
  const original = await machineType(request);
  await putType(
    request,
    original,
    original.sensors.map((s) => (s.name === SENSOR ? { ...s, phys_lo: PHYS_LO } : s)),
  );
  try {
    // Counted within a flush (10 s) of the next batch.
    await expect
      .poll(() => physicalRange(request, `/api/v1/twins/${MOTOR}/data-quality`), {
        timeout: 45_000,
        message: `physical-range readings of ${MOTOR}`,
      })
      .toBeGreaterThan(0);
    const counted = await physicalRange(request, '/api/v1/data-quality');

    await signIn(page, '/?view=quality', VIEWER);
    const view = page.getByRole('region', { name: 'Data quality' });
    await expect(view.getByRole('heading', { name: 'Data quality' })).toBeVisible();
    const rules = view.getByRole('table', { name: 'Counts per rule' });
    for (const rule of ['Physical range', 'Gaps', 'Duplicates', 'Late', 'Clock offset']) {
      await expect(rules.getByRole('row', { name: new RegExp(`^${rule}`) })).toBeVisible();
    }
    // At least what the API had counted before the page asked (the motor keeps reporting).
    const shown = Number(
      ((await ruleCell(rules, 'Physical range').textContent()) ?? '').replaceAll(',', ''),
    );
    expect(shown).toBeGreaterThanOrEqual(counted);
    await expect(view.getByLabel('Data-quality figures')).toContainText('Machines affected');

    await view.getByRole('button', { name: '7 d' }).click();
    await expect(page).toHaveURL(/[?&]window=7d/);
    await expect(view.getByRole('button', { name: '7 d' })).toHaveAttribute('aria-pressed', 'true');

    const top = view.getByRole('table', { name: 'Machines with the most issues' });
    await expect(top.getByRole('button', { name: MOTOR, exact: true })).toBeVisible();
    await page.screenshot({ path: test.info().outputPath('data-quality-view.png') });
    await top.getByRole('button', { name: MOTOR, exact: true }).click();
    const panel = page.getByRole('region', { name: `Machine ${MOTOR}` });
    await expect(panel.getByRole('tab', { name: 'Data quality' })).toHaveAttribute(
      'aria-selected',
      'true',
    );
    const machineRules = panel.getByRole('table', { name: 'Counts per rule' });
    await expect(ruleCell(machineRules, 'Physical range')).not.toHaveText('0');
    await expect(ruleCell(machineRules, 'Duplicates')).toHaveText('fleet only');
    await expect(panel.getByLabel('Clock offset')).toContainText('Device clock offset:');
    await expect(panel.getByRole('figure', { name: 'Gaps timeline' })).toContainText(
      /No gaps|\d+ gaps?/,
    );
    await expect(page.getByRole('alert')).toHaveCount(0);
    await page.screenshot({ path: test.info().outputPath('machine-data-quality.png') });
  } finally {
    // Put the catalogue's range back (at the version the change above made).
    await putType(request, await machineType(request), original.sensors);
  }
});

test("a machine's data-quality tab draws its gaps as a timeline", async ({ page, request }) => {
  const [first] = await machines(request);
  const id = first?.id ?? '';
  // The real answer with two gaps added inside its window: the simulator leaves none.
  await page.route(`**/api/v1/twins/${id}/data-quality?*`, async (route) => {
    const response = await route.fetch();
    const quality = (await response.json()) as Quality;
    const end = Date.parse(quality.end);
    const gap = (agoMs: number, seconds: number) => ({
      machine_id: id,
      start: new Date(end - agoMs).toISOString(),
      end: new Date(end - agoMs + seconds * 1000).toISOString(),
      seconds,
    });
    await route.fulfill({
      response,
      json: {
        ...quality,
        gaps: [gap(6 * 3_600_000, 1800), gap(3_600_000, 30)],
        gap_count: 2,
        gap_seconds: 1830,
      },
    });
  });
  await signIn(page, `/?machine=${id}&tab=quality`, VIEWER);
  const panel = page.getByRole('region', { name: `Machine ${id}` });
  const timeline = panel.getByRole('figure', { name: 'Gaps timeline' });
  await expect(timeline).toContainText('2 gaps (30 min without data)');
  await expect(timeline.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  await expect(timeline.locator('.js-plotly-plot .barlayer .point')).toHaveCount(2);
  await page.screenshot({ path: test.info().outputPath('gaps-timeline.png') });
});

test("a machine's chart over a year draws from one request and names its resolution", async ({
  page,
  request,
}) => {
  const [first] = await machines(request);
  const id = first?.id ?? '';
  await signIn(page);
  const panel = await openMachine(page, id);
  await expect(panel.locator('.js-plotly-plot .main-svg').first()).toBeVisible();

  const series: Array<{ url: URL; source: string }> = [];
  page.on('response', async (response) => {
    const url = new URL(response.url());
    if (!url.pathname.endsWith('/series') || url.searchParams.get('method') !== 'minmax') return;
    series.push({ url, source: ((await response.json()) as { source: string }).source });
  });
  await panel
    .getByRole('group', { name: 'Time range' })
    .getByRole('button', { name: '1 y' })
    .click();
  await expect(page).toHaveURL(/[?&]range=1y/);
  const status = panel.getByRole('status', { name: 'Chart status' });
  await expect(status).toContainText('History: last 1 y');
  const resolution = status.getByLabel('Resolution');
  await expect(resolution).toHaveText(/raw readings|buckets/);
  await expect(panel.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  await expect(panel.locator('.js-plotly-plot .scatterlayer path.js-line').first()).toBeVisible();

  // One request for the year, at most 800 points per sensor, its source named in the status.
  await expect.poll(() => series.length).toBe(1);
  const [year] = series;
  expect(year?.url.searchParams.get('width')).toBe('800');
  const span =
    Date.parse(year?.url.searchParams.get('to') ?? '') -
    Date.parse(year?.url.searchParams.get('from') ?? '');
  expect(span).toBe(365 * 86_400_000);
  await expect(resolution).toHaveText(year?.source === 'raw' ? 'raw readings' : /buckets/);
  await page.screenshot({ path: test.info().outputPath('chart-one-year.png') });
});
