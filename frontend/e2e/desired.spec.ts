// Desired state end to end: the operator's merge patch goes to the simulated device, which obeys
// and acknowledges; the dashboard shows it pending, then accepted and converged.
import { expect, signIn, test } from './support/fixtures';
import { machines, openMachine } from './support/dashboard';

test('edits desired state and sees it pending, then converged', async ({ page, request }) => {
  const fleet = await machines(request);
  const machine = fleet.at(-1);
  const id = machine?.id ?? '';
  await signIn(page);
  const panel = await openMachine(page, id);
  const desired = panel.getByRole('region', { name: 'Desired state' });
  await expect(desired).toBeVisible();

  const editor = desired.getByRole('textbox');
  await editor.fill('{"mode": "standby"}');
  const command = desired.getByRole('status', { name: 'Command status' });
  // The device answers within a simulator tick, often faster than a poll: record every text the
  // status shows from the click on.
  await command.evaluate((element) => {
    const seen: string[] = [];
    (window as unknown as { statusSeen: string[] }).statusSeen = seen;
    new MutationObserver(() => seen.push(element.textContent ?? '')).observe(element, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  await desired.getByRole('button', { name: 'Apply patch' }).click();
  await expect(command).toContainText('accepted', { timeout: 20_000 });
  await expect(command).toContainText('converged', { timeout: 20_000 });
  const seen = await page.evaluate(
    () => (window as unknown as { statusSeen: string[] }).statusSeen,
  );
  const pendingAt = seen.findIndex((text) => text.includes('pending'));
  const convergedAt = seen.findIndex((text) => text.includes('converged'));
  expect(pendingAt).toBeGreaterThanOrEqual(0);
  expect(convergedAt).toBeGreaterThan(pendingAt);
  const mode = desired.getByRole('table', { name: 'Reported vs desired' }).getByRole('row', {
    name: /mode/,
  });
  await expect(mode).toContainText('standby');
  await expect(mode).toContainText('in sync');

  // Someone else changes the desired state while the operator edits: the edit is refused (412)
  // with the problem details, and can be rebased on the newer version.
  await editor.fill('{"mode": "off"}');
  const other = await request.patch(`/api/v1/twins/${id}/desired`, {
    data: { mode: 'on' },
    headers: { 'Content-Type': 'application/merge-patch+json' },
  });
  const { version } = (await other.json()) as { version: number };
  await desired.getByRole('button', { name: 'Apply patch' }).click();
  await expect(desired.getByRole('alert')).toContainText('Conflict');
  await expect(desired.getByRole('button', { name: `Rebase on version ${version}` })).toBeVisible();
});
