// An injected fault shows up in the fleet-wide anomalies panel and leads to the machine. The demo
// runs the e2e-fault scenario (data-pipeline/scenarios/e2e-fault.yaml, see playwright.config.ts):
// six healthy machines, and motor-0004's motor seizes 25 s after the start. The backend detects it
// from the telemetry alone; nothing here touches the machine.
import { expect, signIn, test } from './support/fixtures';

const FAULTY = 'motor-0004';

test('an injected fault appears in the anomalies panel and opens the machine', async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, '/?view=alerts');
  await expect(page.getByRole('heading', { name: 'Anomalies' })).toBeVisible();

  const list = page.getByRole('list', { name: 'Anomaly events' });
  const event = list.getByRole('button', { name: new RegExp(`^${FAULTY}: anomaly start`) }).first();
  // The fault starts 25 s after the demo; detection follows within a batch or two.
  await expect(event).toBeVisible({ timeout: 60_000 });
  // Only the faulty machine is in the panel: the healthy ones raise nothing.
  const machines = await list
    .getByRole('button')
    .evaluateAll((buttons) =>
      buttons.map((b) => (b.getAttribute('aria-label') ?? '').split(':')[0]),
    );

  expect(new Set(machines)).toEqual(new Set([FAULTY]));

  await event.click();
  await expect(page).toHaveURL(new RegExp(`machine=${FAULTY}`));
  const panel = page.getByRole('region', { name: `Machine ${FAULTY}` });
  await expect(panel).toBeVisible();
  // The machine view says an anomaly is open and which sensors drive it.
  await expect(panel.getByRole('note')).toContainText('Anomaly open since', { timeout: 15_000 });
});
