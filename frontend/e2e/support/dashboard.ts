// Helpers shared by the browser tests: machines from the API, and opening one in the dashboard.
import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';

export interface TwinSummary {
  id: string;
  machine_type: string;
  site: string | null;
  line: string | null;
  reported: Record<string, unknown>;
  desired_version: number;
}

/** The demo's machines as the API lists them (waits until the simulator registered some). */
export async function machines(request: APIRequestContext): Promise<TwinSummary[]> {
  let items: TwinSummary[] = [];
  await expect
    .poll(
      async () => {
        const response = await request.get('/api/v1/twins');
        items = ((await response.json()) as { items: TwinSummary[] }).items;
        return items.length;
      },
      { timeout: 30_000 },
    )
    .toBeGreaterThan(0);
  return items;
}

export async function expectLive(page: Page): Promise<void> {
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText(/Live/);
}

/** Opens a machine from the fleet table (searching for it: rows are windowed); returns its region. */
export async function openMachine(page: Page, id: string): Promise<Locator> {
  const search = page.getByRole('searchbox', { name: 'Search machine id' });
  await search.fill(id);
  const table = page.getByRole('table', { name: 'Machines' });
  await table.getByRole('button', { name: id, exact: true }).click();
  await search.fill('');
  await expect(page).toHaveURL(new RegExp(`[?&]machine=${encodeURIComponent(id)}`));
  return page.getByRole('region', { name: `Machine ${id}` });
}

/** The number in the chart status line ("1,234 points"). */
export async function chartPoints(panel: Locator): Promise<number> {
  const text = await panel.locator('.chart-status__points').textContent();
  return Number((text ?? '0').replaceAll(',', ''));
}
