import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { signedInSession } from '../../../testing/fakeAuth';
import { FakeRealtime } from '../../../testing/fakeRealtime';
import { invalid, mockApi } from '../../../testing/mockApi';
import { makeReportList, makeRun } from '../../../testing/reportData';
import { renderWithApp } from '../../../testing/render';
import { SAMPLE_NOW } from '../../../testing/sampleData';
import { ReportsPage } from './ReportsPage';

describe('Reports page', () => {
  beforeEach(() => {
    // jsdom has no blob URLs.
    URL.createObjectURL = vi.fn(() => 'blob:report');
    URL.revokeObjectURL = vi.fn();
  });

  it('lists the definitions with their schedule and the newest runs with their status', async () => {
    const api = mockApi({ 'GET /api/v1/reports': makeReportList() });
    renderWithApp(<ReportsPage />);

    const definitions = await screen.findByRole('table', { name: 'Report definitions' });
    const daily = within(definitions).getByRole('row', { name: /^plant-a daily/ });
    expect(daily).toHaveTextContent('Maintenance');
    expect(daily).toHaveTextContent('site plant-a');
    expect(daily).toHaveTextContent('Last day');
    expect(daily).toHaveTextContent('0 6 * * *');
    expect(daily).toHaveTextContent('2026-12-07 05:00:00 UTC');
    const fleet = within(definitions).getByRole('row', { name: /^fleet data quality/ });
    expect(fleet).toHaveTextContent('Data qualityfleetLast weekon demand—');

    const runs = screen.getByRole('table', { name: 'Report runs' });
    const ok = within(runs).getByRole('row', { name: /^7/ });
    expect(ok).toHaveTextContent('plant-a daily');
    expect(ok).toHaveTextContent('succeeded');
    expect(ok).toHaveTextContent('emailed to maintenance@example.com');
    expect(within(ok).getByRole('button', { name: 'Download PDF of run 7' })).toBeVisible();
    expect(within(ok).getByRole('button', { name: 'Download CSV of run 7' })).toBeVisible();
    const failed = within(runs).getByRole('row', { name: /^6/ });
    expect(failed).toHaveTextContent('ad hoc');
    expect(failed).toHaveTextContent('failedrenderer crashed');
    expect(within(failed).queryByRole('button')).toBeNull();
    expect(api.calls[0]?.query.get('runs')).toBe('50');
  });

  it('runs a definition now and lists the new run', async () => {
    const user = userEvent.setup();
    let list = makeReportList();
    const api = mockApi({
      'GET /api/v1/reports': () => list,
      'POST /api/v1/reports/run': () => {
        const run = makeRun({ id: 8, trigger: 'api', scheduled_for: null });
        list = { ...list, runs: [run, ...list.runs] };
        return [201, run];
      },
    });
    renderWithApp(<ReportsPage />);
    await user.click(await screen.findByRole('button', { name: 'Run plant-a daily now' }));
    expect(await screen.findByRole('status', { name: 'Last run' })).toHaveTextContent(
      'Run 8 succeeded.',
    );
    expect(api.callsTo('POST', '/api/v1/reports/run')[0]?.body).toEqual({
      definition_id: 1,
      email: false,
    });
    const runs = screen.getByRole('table', { name: 'Report runs' });
    expect(await within(runs).findByRole('row', { name: /^8/ })).toHaveTextContent('api');
  });

  it('downloads and previews a PDF with the session token', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/reports': makeReportList(),
      'GET /api/v1/reports/runs/7.pdf': () => '%PDF-1.4',
      'GET /api/v1/reports/runs/7.csv': () => 'a,b',
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    renderWithApp(<ReportsPage />);
    await user.click(await screen.findByRole('button', { name: 'Download CSV of run 7' }));
    await waitFor(() => expect(click).toHaveBeenCalledTimes(1));
    const [csv] = api.callsTo('GET', '/api/v1/reports/runs/7.csv');
    expect(csv?.headers.get('Authorization')).toBe('Bearer token-admin');
    expect(URL.createObjectURL).toHaveBeenCalled();

    await user.click(screen.getByRole('button', { name: 'Preview run 7' }));
    const frame = await screen.findByTitle('Report run 7 (PDF)');
    await waitFor(() => expect(frame).toHaveAttribute('src', 'blob:report'));
    expect(api.callsTo('GET', '/api/v1/reports/runs/7.pdf')[0]?.headers.get('Authorization')).toBe(
      'Bearer token-admin',
    );
  });

  it('keeps Run now and New definition from viewers, with the reason', async () => {
    mockApi({ 'GET /api/v1/reports': makeReportList() });
    renderWithApp(<ReportsPage />, new FakeRealtime(SAMPLE_NOW), signedInSession('viewer'));
    const run = await screen.findByRole('button', { name: 'Run plant-a daily now' });
    expect(run).toBeDisabled();
    expect(screen.getByRole('button', { name: 'New definition' })).toBeDisabled();
    expect(screen.getByText('Needs the admin role')).toBeVisible();
    // Viewers still download.
    expect(screen.getByRole('button', { name: 'Download PDF of run 7' })).toBeEnabled();
  });

  it("creates a definition and shows the backend's 422 next to the field", async () => {
    const user = userEvent.setup();
    const api = mockApi({
      'GET /api/v1/reports': makeReportList(),
      'POST /api/v1/reports/definitions': (call) =>
        (call.body as { schedule: string }).schedule === 'every day'
          ? invalid([{ loc: ['body', 'schedule'], msg: 'Value error, not a cron expression' }])
          : [201, { ...makeReportList().definitions[0], id: 3 }],
    });
    renderWithApp(<ReportsPage />);
    await user.click(await screen.findByRole('button', { name: 'New definition' }));
    const form = screen.getByRole('form', { name: 'New report definition' });
    await user.click(within(form).getByRole('button', { name: 'Create' }));
    expect(within(form).getByText('Give the report a name.')).toBeVisible();

    await user.type(within(form).getByLabelText('Name'), 'weekly quality');
    await user.selectOptions(within(form).getByLabelText('Kind'), 'data_quality');
    await user.selectOptions(within(form).getByLabelText('Period'), 'last_week');
    const schedule = within(form).getByLabelText('Schedule (cron)');
    await user.clear(schedule);
    await user.type(schedule, 'every day');
    await user.type(within(form).getByLabelText('Recipients'), 'a@example.com, b@example.com');
    await user.click(within(form).getByRole('button', { name: 'Create' }));
    expect(await within(form).findByText('not a cron expression')).toBeVisible();
    expect(schedule).toHaveAttribute('aria-invalid', 'true');

    await user.clear(schedule);
    await user.type(schedule, '0 6 * * 1');
    await user.click(within(form).getByRole('button', { name: 'Create' }));
    await waitFor(() =>
      expect(screen.queryByRole('form', { name: 'New report definition' })).toBeNull(),
    );
    expect(api.callsTo('POST', '/api/v1/reports/definitions')[1]?.body).toEqual({
      name: 'weekly quality',
      kind: 'data_quality',
      scope: 'fleet',
      site: null,
      period: 'last_week',
      schedule: '0 6 * * 1',
      recipients: ['a@example.com', 'b@example.com'],
      formats: ['pdf', 'csv'],
      enabled: true,
    });
  });
});
