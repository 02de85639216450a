// The dashboard runs under its Content-Security-Policy (backend/src/dtwin/api/hardening.py): own scripts
// only, no eval, connections to this server only. A chart and the live stream work, and the browser reports
// no policy violation while they do.
import { expect, signIn, test } from './support/fixtures';
import { expectLive, machines, openMachine } from './support/dashboard';

test('the dashboard works under its Content-Security-Policy without violations', async ({
  page,
  request,
}) => {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
  });
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { reportViolation: (t: string) => void }).reportViolation(
        `${e.violatedDirective} ${e.blockedURI}`,
      );
    });
  });
  const response = await page.goto('/');
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  await signIn(page, null);
  await expectLive(page);
  const [first] = await machines(request);
  const panel = await openMachine(page, first?.id ?? '');
  await expect(panel.locator('.js-plotly-plot .scatterlayer .trace').first()).toBeVisible();
  expect(violations).toEqual([]);
});
