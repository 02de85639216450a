// A fault shows up in the fleet-wide anomalies panel and leads to the machine. The demo has no
// fault-injection hook, so the "fault" is an operating point far outside the normal range: the
// machine is put to standby through its desired state, and the limit detector flags it.
import { expect, test } from '@playwright/test';
import { machines } from './support/dashboard';

test('an induced fault appears in the anomalies panel and opens the machine', async ({
  page,
  request,
}) => {
  const fleet = await machines(request);
  const machine = fleet[0];
  const id = machine?.id ?? '';
  await page.goto('/?view=alerts');
  await expect(page.getByRole('heading', { name: 'Anomalies' })).toBeVisible();

  const response = await request.patch(`/api/v1/twins/${id}/desired`, {
    data: { mode: 'off' },
    headers: { 'Content-Type': 'application/merge-patch+json' },
  });
  expect(response.ok()).toBe(true);

  const event = page
    .getByRole('list', { name: 'Anomaly events' })
    .getByRole('button', { name: new RegExp(`^${id}: anomaly start`) })
    .first();
  await expect(event).toBeVisible({ timeout: 45_000 });
  await event.click();
  await expect(page).toHaveURL(new RegExp(`machine=${id}`));
  await expect(page.getByRole('region', { name: `Machine ${id}` })).toBeVisible();

  await request.patch(`/api/v1/twins/${id}/desired`, {
    data: { mode: 'on' },
    headers: { 'Content-Type': 'application/merge-patch+json' },
  });
});
