// The dashboard against the real backend in demo mode: the fleet live, a machine's chart growing,
// problem details for errors, and a dropped connection that recovers and resumes.
import type { WebSocketRoute } from '@playwright/test';
import { chartPoints, expectLive, machines, openMachine } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

test('lists the fleet and updates it live', async ({ page, request }) => {
  const fleet = await machines(request);
  await signIn(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('dtwin — plant digital twin');
  await expectLive(page);

  const table = page.getByRole('table', { name: 'Machines' });
  await expect(table.getByRole('rowheader')).toHaveCount(fleet.length);
  await expect(page.getByRole('button', { name: `Online: ${fleet.length}` })).toBeVisible();

  // A row's latest values change without reloading: the stream is live.
  const id = fleet[0]?.id ?? '';
  const values = table.getByRole('list', { name: `Latest values of ${id}` });
  const before = await values.textContent();
  await expect(values).not.toHaveText(before ?? '', { timeout: 15_000 });

  // Search by id narrows the table.
  await page.getByRole('searchbox', { name: 'Search machine id' }).fill(id);
  await expect(table.getByRole('rowheader')).toHaveCount(1);
});

test('shows the fleet per line and filters the table to a line', async ({ page, request }) => {
  const fleet = await machines(request);
  await signIn(page);
  const table = page.getByRole('table', { name: 'Machines' });
  await expect(table.getByRole('rowheader')).toHaveCount(fleet.length);

  // Counted here from the list, independently of the aggregate endpoint the breakdown asks.
  const perLine = new Map<string, number>();
  for (const twin of fleet) {
    const place = `${twin.site ?? 'no site'} / ${twin.line ?? 'no line'}`;
    perLine.set(place, (perLine.get(place) ?? 0) + 1);
  }
  const breakdown = page.getByRole('table', { name: 'Fleet per line' });
  await expect(breakdown.getByRole('rowgroup').nth(1).getByRole('row')).toHaveCount(perLine.size);
  const places = [...perLine.keys()].filter((place) => !place.includes('no '));
  expect(places.length).toBeGreaterThan(0);
  const rowOf = (place: string) =>
    breakdown.getByRole('row').filter({
      has: page.getByRole('button', { name: `Show only ${place} in the table` }),
    });
  for (const place of places) {
    // The first cell after the site and line headers: machines.
    await expect(rowOf(place).getByRole('cell').first()).toHaveText(String(perLine.get(place)));
  }

  // A line picked there filters the table to it; picked again, every line is back.
  const [place = ''] = places;
  const pick = page.getByRole('button', { name: `Show only ${place} in the table` });
  await pick.click();
  await expect(pick).toHaveAttribute('aria-pressed', 'true');
  await expect(table.getByRole('rowheader')).toHaveCount(perLine.get(place) ?? 0);
  await expect(page.getByRole('combobox', { name: 'Line' })).toHaveValue(place.split(' / ')[1]!);
  await pick.click();
  await expect(table.getByRole('rowheader')).toHaveCount(fleet.length);
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('opens a machine and its chart grows', async ({ page, request }) => {
  const [first] = await machines(request);
  await signIn(page);
  const panel = await openMachine(page, first?.id ?? '');
  await expect(panel.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  await expect(panel.locator('.js-plotly-plot .scatterlayer .trace').first()).toBeVisible();

  const status = panel.getByRole('status', { name: 'Chart status' });
  await expect(status).toContainText('Live.');
  await expect(status.locator('time')).toHaveText(/\d\d:\d\d:\d\d UTC/);
  const points = await chartPoints(panel);
  await expect.poll(() => chartPoints(panel), { timeout: 15_000 }).toBeGreaterThan(points);
  const latest = await status.locator('time').textContent();
  await expect(status.locator('time')).not.toHaveText(latest ?? '', { timeout: 15_000 });
  // The line on screen moves with the samples (drawn in place or by Plotly).
  const line = panel.locator('.js-plotly-plot .scatterlayer path.js-line').first();
  const drawn = await line.getAttribute('d');
  await expect.poll(() => line.getAttribute('d'), { timeout: 15_000 }).not.toBe(drawn);

  // The forecast, when asked for: a dashed mean in its band (a filled pair of traces) after the
  // data, once the machine has 12 whole minutes of history (the API's minimum). A run of this
  // suite is usually younger than that: then the API's note is said under the chart, no error.
  const toggle = panel.getByRole('button', { name: 'Forecast' });
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const dashed = panel.locator('.js-plotly-plot .scatterlayer path.js-line[style*="dasharray"]');
  const note = panel.getByRole('note', { name: 'Forecast note' });
  await expect(dashed.or(note).first()).toBeVisible();
  if (await note.isVisible()) {
    await expect(note).toContainText(/^No forecast for .+: .+/);
  } else {
    await expect(panel.locator('.js-plotly-plot .scatterlayer path.js-fill').first()).toBeVisible();
    await expect(panel.getByRole('figure', { name: 'Sensor chart' })).toContainText('forecast (');
  }
  await expect(panel.getByRole('alert')).toHaveCount(0);
  await toggle.click();
  await expect(note).toHaveCount(0);

  // Health, desired state and the other views are there.
  await expect(panel.getByRole('region', { name: 'Desired state' })).toBeVisible();
  await panel.getByRole('tab', { name: 'Correlations' }).click();
  await expect(panel.getByRole('tabpanel')).toContainText(/Correlation|correlation/);
  await panel.getByRole('tab', { name: 'Decisions' }).click();
  await expect(panel.getByRole('tabpanel')).toBeVisible();
});

test('shows problem details for an unknown machine', async ({ page }) => {
  await signIn(page, '/?machine=does-not-exist');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Could not load does-not-exist');
  await expect(alert).not.toContainText('[object Object]');
});

test('a dropped connection shows reconnecting, then resumes live', async ({ page, request }) => {
  const [first] = await machines(request);
  let refuse = false;
  const sockets: WebSocketRoute[] = [];
  const subscribes: Array<Record<string, unknown>> = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (refuse) {
      // The network is down: the connection is closed before the server is reached.
      void ws.close({ code: 1011, reason: 'test: network down' });
      return;
    }
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const parsed = JSON.parse(String(message)) as Record<string, unknown>;
      if (parsed.type === 'subscribe') subscribes.push(parsed);
      server.send(message);
    });
    sockets.push(ws);
  });

  await signIn(page);
  await expectLive(page);
  const panel = await openMachine(page, first?.id ?? '');
  await expect(panel.getByRole('status', { name: 'Chart status' })).toContainText('Live.');
  const before = await chartPoints(panel);
  await expect.poll(() => chartPoints(panel)).toBeGreaterThan(before);

  refuse = true;
  await sockets.at(-1)?.close({ code: 1011, reason: 'test: connection dropped' });
  const badge = page.getByRole('status', { name: 'Connection' });
  await expect(badge).toHaveText(/Reconnecting|Offline/);
  await expect(panel.getByRole('status', { name: 'Chart status' })).toContainText('Not live');

  refuse = false;
  await expect(badge).toHaveText(/Live/, { timeout: 30_000 });
  // Every subscription came back with the last seq it had seen.
  const resumed = subscribes.filter((s) => typeof s.resume_after === 'number');
  expect(resumed.map((s) => s.sub)).toEqual(
    expect.arrayContaining(['fleet', `machine:${first?.id}`]),
  );
  const after = await chartPoints(panel);
  await expect.poll(() => chartPoints(panel), { timeout: 15_000 }).toBeGreaterThan(after);
  await expect(panel.getByRole('status', { name: 'Chart status' })).toContainText('Live.');
});
