import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { Twin } from '../../../api/types';
import type { Role } from '../../../api/types';
import { signedInSession } from '../../../testing/fakeAuth';
import { FakeRealtime } from '../../../testing/fakeRealtime';
import { renderWithApp } from '../../../testing/render';
import { makeTwin, SAMPLE_NOW } from '../../../testing/sampleData';
import { twinQueryKey } from '../api';
import { DesiredPanel } from './DesiredPanel';
import { parsePatch } from './DesiredEditor';
import { DRY_RUN } from '../../../testing/dryRun';

interface Call {
  method: string;
  ifMatch: string | null;
  contentType: string | null;
  body: unknown;
}

/**
 * A fake PATCH /desired endpoint: answers `status` with `body`, records every call. The preview's
 * dry runs (POST /desired/dry-run) go to `dryRun` (default: a valid preview) and are recorded in
 * `dryRuns`, not in the calls.
 */
function mockPatch(
  status: number,
  body: unknown,
  dryRun: { status: number; body: unknown } = { status: 200, body: DRY_RUN },
  dryRuns: Call[] = [],
): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.endsWith('/desired/dry-run')) {
        dryRuns.push({
          method: init?.method ?? 'GET',
          ifMatch: headers.get('If-Match'),
          contentType: headers.get('Content-Type'),
          body: JSON.parse(typeof init?.body === 'string' ? init.body : 'null') as unknown,
        });
        return new Response(JSON.stringify(dryRun.body), {
          status: dryRun.status,
          headers: {
            'content-type': dryRun.status < 400 ? 'application/json' : 'application/problem+json',
          },
        });
      }
      calls.push({
        method: init?.method ?? 'GET',
        ifMatch: headers.get('If-Match'),
        contentType: headers.get('Content-Type'),
        body: JSON.parse(typeof init?.body === 'string' ? init.body : 'null') as unknown,
      });
      return new Response(JSON.stringify(body), {
        status,
        headers: {
          'content-type': status < 400 ? 'application/json' : 'application/problem+json',
          etag: '"4"',
        },
      });
    }),
  );
  return calls;
}

/** Renders the desired panel of a twin kept in the query cache, as the live view does. */
function renderDesired(twin: Twin, role: Role = 'operator') {
  function Harness({ current }: { current: Twin }) {
    return <DesiredPanel twin={current} />;
  }
  const result = renderWithApp(
    <Harness current={twin} />,
    new FakeRealtime(SAMPLE_NOW),
    signedInSession(role),
  );
  result.queryClient.setQueryData(twinQueryKey(twin.id), twin);
  return {
    ...result,
    show: (next: Twin) => result.rerender(<Harness current={next} />),
  };
}

const editor = () => screen.getByRole('textbox');

describe('DesiredPanel and DesiredEditor', () => {
  const twin = makeTwin({
    desired: { mode: 'on', speed_setpoint_rpm: 2400 },
    desired_version: 3,
    reported: { mode: 'on', speed_setpoint_rpm: 2950 },
    delta: { speed_setpoint_rpm: 2400 },
    command: { version: 3, status: 'pending', applied: {}, rejected: {}, ts: null },
  });

  it('shows reported vs desired with the delta highlighted and the command status', () => {
    renderDesired(twin);
    const table = screen.getByRole('table', { name: 'Reported vs desired' });
    const speed = within(table).getByRole('row', { name: /speed setpoint/ });
    expect(speed).toHaveClass('row--delta');
    expect(speed).toHaveTextContent('2400');
    expect(speed).toHaveTextContent('2950');
    expect(speed).toHaveTextContent('delta');
    expect(within(table).getByRole('row', { name: /mode/ })).toHaveTextContent('in sync');
    expect(screen.getByRole('status', { name: 'Command status' })).toHaveTextContent(
      'pending version 3: pending: waiting for the device',
    );
  });

  it('shows converged once accepted and reported, and rejections with reasons', () => {
    const { show } = renderDesired(twin);
    show({
      ...twin,
      reported: { mode: 'on', speed_setpoint_rpm: 2400 },
      delta: {},
      command: {
        version: 3,
        status: 'accepted',
        applied: { speed_setpoint_rpm: 2400 },
        rejected: {},
        ts: null,
      },
    });
    expect(screen.getByRole('status', { name: 'Command status' })).toHaveTextContent('converged');
    show({
      ...twin,
      command: {
        version: 3,
        status: 'partial',
        applied: { mode: 'on' },
        rejected: { speed_setpoint_rpm: '4000 out of range 1500..3000 rpm' },
        ts: null,
      },
    });
    expect(screen.getByRole('list', { name: 'Rejected settings' })).toHaveTextContent(
      'speed_setpoint_rpm: 4000 out of range 1500..3000 rpm',
    );
  });

  it('sends a merge patch with If-Match on the desired version it started from', async () => {
    const user = userEvent.setup();
    const calls = mockPatch(200, {
      machine_id: 'pump-0001',
      desired: { mode: 'standby', speed_setpoint_rpm: 2400 },
      version: 4,
      delta: { mode: 'standby' },
      command: { version: 4, status: 'pending', applied: {}, rejected: {}, ts: null },
    });
    const { queryClient } = renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '{{"mode": "standby"}');
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(calls[0]).toEqual({
      method: 'PATCH',
      ifMatch: '"3"',
      contentType: 'application/merge-patch+json',
      body: { mode: 'standby' },
    });
    await screen.findByText('Sent as desired version 4.');
    // The cached twin shows the new desired state at once.
    expect(queryClient.getQueryData<Twin>(twinQueryKey('pump-0001'))).toMatchObject({
      desired_version: 4,
      command: { status: 'pending' },
    });
  });

  it('keeps what the stream already said when the PATCH response arrives after it', async () => {
    const user = userEvent.setup();
    const response = {
      machine_id: 'pump-0001',
      desired: { mode: 'standby', speed_setpoint_rpm: 2400 },
      version: 4,
      delta: { mode: 'standby' },
      command: { version: 4, status: 'pending', applied: {}, rejected: {}, ts: null },
    };
    let answer: (() => void) | null = null;
    vi.stubGlobal(
      'fetch',
      vi.fn(
        () =>
          new Promise<Response>((resolve) => {
            answer = () =>
              resolve(
                new Response(JSON.stringify(response), {
                  status: 200,
                  headers: { 'content-type': 'application/json' },
                }),
              );
          }),
      ),
    );
    const { queryClient } = renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '{{"mode": "standby"}');
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    await waitFor(() => expect(answer).not.toBeNull());
    // The device accepts, and the stream says so, before the HTTP response is read.
    const accepted = {
      ...twin,
      desired: response.desired,
      desired_version: 4,
      delta: {},
      reported: { mode: 'standby', speed_setpoint_rpm: 2400 },
      command: {
        version: 4,
        status: 'accepted' as const,
        applied: { mode: 'standby' },
        rejected: {},
        ts: '2026-11-23T10:00:00Z',
      },
    };
    act(() => {
      queryClient.setQueryData(twinQueryKey('pump-0001'), accepted);
    });
    await act(async () => answer?.());
    await screen.findByText('Sent as desired version 4.');
    expect(queryClient.getQueryData<Twin>(twinQueryKey('pump-0001'))?.command?.status).toBe(
      'accepted',
    );
  });

  it('refuses invalid JSON and non-object patches without sending', async () => {
    const user = userEvent.setup();
    const calls = mockPatch(200, {});
    renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '[[1, 2]');
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    expect(screen.getByRole('alert')).toHaveTextContent('A merge patch must be a JSON object');
    expect(calls).toHaveLength(0);
    expect(parsePatch('{')).toMatch(/^Not valid JSON/);
  });

  it('shows a 412 conflict from problem+json and rebases on the newer version', async () => {
    const user = userEvent.setup();
    const calls = mockPatch(412, {
      type: 'about:blank',
      title: 'Precondition failed',
      status: 412,
      detail: 'desired version is 5, not 3',
    });
    const { show } = renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '{{"mode": "off"}');
    // Someone else changed the desired state meanwhile.
    act(() => show({ ...twin, desired_version: 5 }));
    expect(screen.getByRole('note')).toHaveTextContent('changed to version 5');
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Conflict: Precondition failed');
    expect(alert).toHaveTextContent('desired version is 5, not 3');
    await user.click(screen.getByRole('button', { name: 'Rebase on version 5' }));
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls.map((c) => c.ifMatch)).toEqual(['"3"', '"5"']);
    expect(calls[1]?.body).toEqual({ mode: 'off' });
  });

  it('shows a viewer the editor disabled with the reason, and sends nothing', async () => {
    const user = userEvent.setup();
    const calls = mockPatch(200, {});
    renderDesired(twin, 'viewer');
    for (const control of [editor(), screen.getByRole('button', { name: 'Apply patch' })]) {
      expect(control).toBeDisabled();
      expect(control).toHaveAttribute('title', 'Needs the operator role');
      expect(control).toHaveAccessibleDescription('Needs the operator role');
    }
    await user.click(screen.getByRole('button', { name: 'Apply patch' }));
    expect(calls).toHaveLength(0);
  });

  it('lets an operator edit, with no reason shown', () => {
    renderDesired(twin, 'operator');
    expect(editor()).toBeEnabled();
    expect(editor()).not.toHaveAttribute('title');
    expect(screen.getByRole('button', { name: 'Apply patch' })).toBeEnabled();
    expect(screen.queryByText('Needs the operator role')).not.toBeInTheDocument();
  });

  it('previews the patch as the operator types, before Apply, and sends nothing', async () => {
    const user = userEvent.setup();
    const dryRuns: Call[] = [];
    const calls = mockPatch(200, {}, { status: 200, body: DRY_RUN }, dryRuns);
    renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '{{"speed_setpoint_rpm": 2000}');
    const preview = await screen.findByRole('region', { name: 'Preview' });
    expect(dryRuns).toHaveLength(1); // debounced: one when typing paused, not one per key
    expect(dryRuns[0]).toEqual({
      method: 'POST',
      ifMatch: null,
      contentType: 'application/merge-patch+json',
      body: { speed_setpoint_rpm: 2000 },
    });
    expect(calls).toHaveLength(0); // nothing applied
    const table = within(preview).getByRole('table', { name: 'Predicted steady state' });
    expect(within(table).getByRole('row', { name: /^flow/i })).toHaveTextContent('out of range');
    expect(within(table).getByRole('row', { name: /^power/i })).toHaveTextContent(
      'not enough history',
    );
    expect(within(preview).getByLabelText('Health change')).toHaveTextContent('97 → 42');
    expect(within(preview).getByRole('note')).toHaveTextContent('command version 3 is pending');
  });

  it('shows the fields the dry run refused', async () => {
    const user = userEvent.setup();
    mockPatch(
      200,
      {},
      {
        status: 422,
        body: {
          type: 'about:blank',
          title: 'Invalid input',
          status: 422,
          detail: 'speed_setpoint_rpm: speed_setpoint_rpm=4000 out of range 1500..3000 rpm',
          errors: [
            {
              loc: ['body', 'speed_setpoint_rpm'],
              msg: 'speed_setpoint_rpm=4000 out of range 1500..3000 rpm',
              type: 'out_of_range',
            },
          ],
        },
      },
    );
    renderDesired(twin);
    await user.clear(editor());
    await user.type(editor(), '{{"speed_setpoint_rpm": 4000}');
    const refused = await screen.findByRole('list', { name: 'Refused settings' });
    expect(refused).toHaveTextContent(
      'speed_setpoint_rpm: speed_setpoint_rpm=4000 out of range 1500..3000 rpm',
    );
  });

  it('does not preview before the operator edits, nor for a viewer', async () => {
    const dryRuns: Call[] = [];
    mockPatch(200, {}, { status: 200, body: DRY_RUN }, dryRuns);
    renderDesired(twin, 'viewer');
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 600));
    });
    expect(dryRuns).toHaveLength(0);
    expect(screen.queryByRole('region', { name: 'Preview' })).toBeNull();
  });
});
