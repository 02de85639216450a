// Alarms end to end: a threshold rule created through the API for a simulated pump, at a threshold
// its live temperature is sure to be above, raises an alarm the operator sees arrive in the alarms
// list; acknowledging it there takes it out of the header's unacknowledged count. The demo runs the
// e2e-fault scenario (see playwright.config.ts): motor-0004 seizes 25 s in, and the demo's own
// rules and anomaly alarms may raise alarms of other machines meanwhile, so the count is compared
// with the other unacknowledged alarms the API lists, not with a fixed number.
import type { APIRequestContext, Page } from '@playwright/test';
import { OPERATOR } from './support/accounts';
import { machines } from './support/dashboard';
import { expect, signIn, test } from './support/fixtures';

interface AlarmItem {
  id: number;
  machine_id: string;
  condition: string;
  state: string;
  acked_by: string | null;
}

const SENSOR = 'temperature_c';
const CONDITION = `hi:${SENSOR}`;

/** Unacknowledged alarms the badge counts (open, not shelved/suppressed/out of service). */
async function unacknowledged(request: APIRequestContext): Promise<AlarmItem[]> {
  const response = await request.get(
    '/api/v1/alarms?state=unack_active&state=unack_cleared&hidden=false&limit=500',
  );
  expect(response.status()).toBe(200);
  return ((await response.json()) as { items: AlarmItem[] }).items;
}

async function openAlarms(request: APIRequestContext): Promise<AlarmItem[]> {
  const response = await request.get(
    '/api/v1/alarms?state=unack_active&state=ack_active&state=unack_cleared&limit=500',
  );
  expect(response.status()).toBe(200);
  return ((await response.json()) as { items: AlarmItem[] }).items;
}

async function badgeCount(page: Page): Promise<number> {
  const badge = page
    .getByRole('navigation', { name: 'Views' })
    .getByRole('button', { name: /^Alarms, \d+ unacknowledged$/ });
  const label = (await badge.getAttribute('aria-label')) ?? '';
  return Number(/(\d+) unacknowledged/.exec(label)?.[1] ?? Number.NaN);
}

interface Counts {
  badge: number;
  /** Ids of the other unacknowledged alarms, sorted. */
  others: number[];
}

/** The badge's count and the other unacknowledged alarms the API lists, read together. */
async function counts(page: Page, request: APIRequestContext, alarmId: number): Promise<Counts> {
  const others = (await unacknowledged(request))
    .map((a) => a.id)
    .filter((id) => id !== alarmId)
    .sort((a, b) => a - b);
  return { badge: await badgeCount(page), others };
}

test('an alarm raised by a new rule shows up live; acknowledging it lowers the badge', async ({
  page,
  request,
}) => {
  test.setTimeout(120_000);
  // A pump that runs warm and has no fault (motor-0004 is the faulty one; the last machine's
  // desired state is changed by desired.spec.ts), and no open alarm of this condition yet (one
  // open alarm per machine and condition: a rerun must not find the last run's).
  const fleet = await machines(request);
  const open = await openAlarms(request);
  const pump = fleet.find(
    (t) =>
      t.machine_type === 'centrifugal_pump' &&
      t !== fleet.at(-1) &&
      !open.some((a) => a.machine_id === t.id && a.condition === CONDITION),
  );
  expect(pump, 'a simulated pump without an open alarm of this condition').toBeDefined();
  const machineId = pump?.id ?? '';
  let temperature = Number.NaN;
  await expect
    .poll(
      async () => {
        const twin = (await (await request.get(`/api/v1/twins/${machineId}`)).json()) as {
          readings: Record<string, number>;
        };
        temperature = twin.readings[SENSOR] ?? Number.NaN;
        return Number.isFinite(temperature);
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  // Far below the live value (noise is well under a degree), so the rule fires on the next batch.
  const threshold = Math.floor(temperature - Math.max(10, Math.abs(temperature) * 0.25));

  await signIn(page, '/?view=alarms', OPERATOR);
  const table = page.getByRole('table', { name: 'Alarms' });
  await expect(table).toBeVisible();
  await expect(page.getByRole('status', { name: 'Alarm feed' })).toContainText('Live.');

  const created = await request.post('/api/v1/alarm-rules', {
    data: {
      name: `e2e ${machineId} ${SENSOR} above ${threshold}`,
      machine_id: machineId,
      sensor: SENSOR,
      kind: 'hi',
      threshold,
      priority: 'critical',
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const rule = (await created.json()) as { id: number; version: number };

  try {
    // The alarm arrives on the stream (rules are picked up within 5 s, no on delay).
    const row = table.getByRole('row', {
      name: new RegExp(`^Alarm \\d+: ${machineId} ${CONDITION}$`),
    });
    await expect(row).toBeVisible({ timeout: 30_000 });
    await expect(row).toContainText('Unacknowledged');
    await expect(row).toContainText('critical');
    const alarmId = Number(/^Alarm (\d+):/.exec((await row.getAttribute('aria-label')) ?? '')?.[1]);

    // The badge counts it: the other unacknowledged alarms, plus this one.
    let before: Counts = { badge: Number.NaN, others: [] };
    await expect
      .poll(async () => {
        before = await counts(page, request, alarmId);
        return before.badge - before.others.length;
      })
      .toBe(1);

    await row.getByRole('button', { name: `Acknowledge alarm ${alarmId}` }).click();
    await expect(row).toContainText('Acknowledged');
    await expect(row.getByRole('button', { name: `Acknowledge alarm ${alarmId}` })).toHaveCount(0);

    // Acknowledged by the operator, as the API says too, and no longer counted by the badge.
    const detail = (await (await request.get(`/api/v1/alarms/${alarmId}`)).json()) as AlarmItem;
    expect(detail.state).toBe('ack_active');
    expect(detail.acked_by).toBe(`user:${OPERATOR.username}`);
    let after: Counts = { badge: Number.NaN, others: [] };
    await expect
      .poll(async () => {
        after = await counts(page, request, alarmId);
        return after.badge - after.others.length;
      })
      .toBe(0);
    // The count dropped by this alarm: by exactly one when the others stayed the same (the demo's
    // own alarms may come and go meanwhile; then by one relative to them, as polled above).
    if (after.others.join() === before.others.join()) expect(after.badge).toBe(before.badge - 1);

    await page.screenshot({ path: test.info().outputPath('alarms-acknowledged.png') });
  } finally {
    await request.delete(`/api/v1/alarm-rules/${rule.id}`);
  }
});

test('the seizure in the e2e scenario raises an alarm; the operator acknowledges it and the badge drops', async ({
  page,
  request,
}) => {
  test.setTimeout(150_000);
  // motor-0004 seizes 25 s into the run: the demo's seeded rules (hi at the top of each sensor's
  // operating range) and its anomaly alarm raise alarms of it without anything set up here.
  let alarm: AlarmItem | undefined;
  await expect
    .poll(
      async () => {
        alarm = (await unacknowledged(request)).find((a) => a.machine_id === 'motor-0004');
        return alarm !== undefined;
      },
      { timeout: 90_000, message: 'an unacknowledged alarm of the seizing motor' },
    )
    .toBe(true);
  const alarmId = alarm?.id ?? 0;

  await signIn(page, '/?view=alarms', OPERATOR);
  const table = page.getByRole('table', { name: 'Alarms' });
  const row = table.getByRole('row', { name: new RegExp(`^Alarm ${alarmId}: motor-0004 `) });
  await expect(row).toBeVisible({ timeout: 30_000 });
  let before: Counts = { badge: Number.NaN, others: [] };
  await expect
    .poll(async () => {
      before = await counts(page, request, alarmId);
      return before.badge - before.others.length;
    })
    .toBe(1);

  await row.getByRole('button', { name: `Acknowledge alarm ${alarmId}` }).click();
  await expect
    .poll(async () => {
      const detail = (await (await request.get(`/api/v1/alarms/${alarmId}`)).json()) as AlarmItem;
      return detail.acked_by;
    })
    .toBe(`user:${OPERATOR.username}`);
  let after: Counts = { badge: Number.NaN, others: [] };
  await expect
    .poll(async () => {
      after = await counts(page, request, alarmId);
      return after.badge - after.others.length;
    })
    .toBe(0);
  if (after.others.join() === before.others.join()) expect(after.badge).toBe(before.badge - 1);
});
