import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { AlarmRule } from '../../../api/types';
import { signedInSession } from '../../../testing/fakeAuth';
import { FakeRealtime } from '../../../testing/fakeRealtime';
import { makeRule } from '../../../testing/alarmData';
import { invalid, mockApi, type ApiCall } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import { SAMPLE_NOW } from '../../../testing/sampleData';
import { RulesPanel } from './RulesPanel';

const PUMP = {
  name: 'centrifugal_pump',
  description: 'pump',
  version: 1,
  created_at: '2026-11-20T08:00:00Z',
  updated_at: '2026-11-20T08:00:00Z',
  sensors: [
    { name: 'temperature_c', unit: '°C', lo: 35, hi: 80 },
    { name: 'pressure_bar', unit: 'bar', lo: 3, hi: 9 },
  ],
};

const PREVIEW = {
  machines: 3,
  readings: 25_920,
  alarms: 4,
  chattering: 1,
  episodes: [
    {
      machine_id: 'pump-0001',
      raised_at: '2026-11-23T08:00:00Z',
      cleared_at: '2026-11-23T08:00:20Z',
      value: 81.2,
    },
    { machine_id: 'pump-0003', raised_at: '2026-11-23T09:00:00Z', cleared_at: null, value: 83 },
  ],
  per_machine: [
    { machine_id: 'pump-0001', alarms: 3 },
    { machine_id: 'pump-0003', alarms: 1 },
  ],
};

function backend(rules: AlarmRule[], overrides: Record<string, unknown> = {}) {
  return mockApi({
    'GET /api/v1/alarm-rules': () => ({ items: rules, count: rules.length }),
    'GET /api/v1/machine-types': { items: [PUMP], count: 1 },
    ...overrides,
  });
}

function renderPanel(role: 'admin' | 'operator' | 'viewer' = 'admin') {
  return renderWithApp(<RulesPanel />, new FakeRealtime(SAMPLE_NOW), signedInSession(role));
}

async function newRuleForm(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole('button', { name: 'New rule' }));
  return screen.getByRole('form', { name: 'New threshold rule' });
}

async function fill(user: ReturnType<typeof userEvent.setup>, form: HTMLElement) {
  await user.type(within(form).getByRole('textbox', { name: 'Name' }), 'pump hot');
  await user.selectOptions(
    within(form).getByRole('combobox', { name: 'Machine type' }),
    'centrifugal pump',
  );
  await user.type(within(form).getByRole('combobox', { name: 'Sensor' }), 'temperature_c');
  await user.type(within(form).getByRole('textbox', { name: 'Threshold' }), '80');
}

describe('Threshold rules', () => {
  it('lists the rules', async () => {
    backend([
      makeRule(),
      makeRule({ id: 4, name: 'one pump', machine_type: null, machine_id: 'pump-0001' }),
    ]);
    renderPanel();
    const table = await screen.findByRole('table', { name: 'Threshold rules' });
    await within(table).findByRole('row', { name: 'Rule pump hot' });
    const row = within(table).getByRole('row', { name: 'Rule pump hot' });
    expect(row).toHaveTextContent('every centrifugal pump');
    expect(row).toHaveTextContent('temperature_c > 80 (hi)');
    expect(within(table).getByRole('row', { name: 'Rule one pump' })).toHaveTextContent(
      'pump-0001',
    );
  });

  it('checks the form before sending, then creates the rule', async () => {
    const user = userEvent.setup();
    const api = backend([], { 'POST /api/v1/alarm-rules': [201, makeRule({ version: 1 })] });
    renderPanel();
    const form = await newRuleForm(user);
    await user.click(within(form).getByRole('button', { name: 'Create rule' }));
    expect(within(form).getByRole('textbox', { name: 'Name' })).toHaveAccessibleDescription(
      'Give the rule a name.',
    );
    expect(within(form).getByRole('textbox', { name: 'Threshold' })).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect(api.callsTo('POST', '/api/v1/alarm-rules')).toHaveLength(0);

    await fill(user, form);
    // The sensor's operating range helps choose the threshold.
    expect(form).toHaveTextContent(
      'Operating range of temperature_c on a centrifugal pump: 35 – 80 °C',
    );
    await user.click(within(form).getByRole('button', { name: 'Create rule' }));
    await waitFor(() => expect(screen.queryByRole('form')).toBeNull());
    expect(api.callsTo('POST', '/api/v1/alarm-rules')[0]?.body).toEqual({
      name: 'pump hot',
      machine_type: 'centrifugal_pump',
      sensor: 'temperature_c',
      kind: 'hi',
      threshold: 80,
      deadband: 0,
      on_delay_s: 0,
      off_delay_s: 0,
      priority: 'medium',
      enabled: true,
    });
    expect(screen.getByRole('status', { name: 'Last change' })).toHaveTextContent(
      'Saved rule “pump hot” (version 1).',
    );
  });

  it("shows the backend's 422 next to the field it names", async () => {
    const user = userEvent.setup();
    backend([], {
      'POST /api/v1/alarm-rules': invalid([
        { loc: ['body', 'sensor'], msg: 'unknown sensor for centrifugal_pump' },
      ]),
    });
    renderPanel();
    const form = await newRuleForm(user);
    await fill(user, form);
    await user.click(within(form).getByRole('button', { name: 'Create rule' }));
    const sensor = within(form).getByRole('combobox', { name: 'Sensor' });
    await waitFor(() =>
      expect(sensor).toHaveAccessibleDescription('Unknown sensor for centrifugal_pump'),
    );
    expect(within(form).getByRole('alert')).toHaveTextContent('see the fields marked');
    // Editing the field clears its message.
    await user.type(sensor, 'x');
    expect(sensor).not.toHaveAccessibleDescription();
  });

  it('saves an edit with If-Match on the version it started from; a 412 offers the newer one', async () => {
    const user = userEvent.setup();
    const rules = [makeRule({ version: 4 })];
    const api = backend(rules, {
      'PUT /api/v1/alarm-rules/3': (call: ApiCall) => {
        // Someone else saved version 5 meanwhile.
        rules[0] = makeRule({ version: 5, threshold: 85 });
        return call.headers.get('If-Match') === '"4"'
          ? [
              412,
              {
                type: 'about:blank',
                title: 'Precondition Failed',
                status: 412,
                detail: 'rule 3 is at version 5',
              },
            ]
          : makeRule({ version: 6, threshold: 90 });
      },
    });
    renderPanel();
    await user.click(await screen.findByRole('button', { name: 'Edit rule pump hot' }));
    const form = screen.getByRole('form', { name: 'Edit rule “pump hot”' });
    expect(form).toHaveTextContent('based on version 4');
    const threshold = within(form).getByRole('textbox', { name: 'Threshold' });
    await user.clear(threshold);
    await user.type(threshold, '90');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'Conflict: Precondition Failed',
    );
    expect(api.callsTo('PUT', '/api/v1/alarm-rules/3')[0]?.headers.get('If-Match')).toBe('"4"');
    await user.click(await within(form).findByRole('button', { name: 'Load version 5' }));
    expect(threshold).toHaveValue('85');
    expect(form).toHaveTextContent('based on version 5');
    await user.clear(threshold);
    await user.type(threshold, '90');
    await user.click(within(form).getByRole('button', { name: 'Save changes' }));
    await waitFor(() => expect(screen.queryByRole('form')).toBeNull());
    expect(api.callsTo('PUT', '/api/v1/alarm-rules/3')[1]?.headers.get('If-Match')).toBe('"5"');
    expect(api.callsTo('PUT', '/api/v1/alarm-rules/3')[1]?.body).toMatchObject({ threshold: 90 });
  });

  it('enables, disables and deletes rules with If-Match', async () => {
    const user = userEvent.setup();
    const api = backend([makeRule({ version: 4 })], {
      'PUT /api/v1/alarm-rules/3': makeRule({ version: 5, enabled: false }),
      'DELETE /api/v1/alarm-rules/3': [204, null],
    });
    renderPanel();
    await user.click(await screen.findByRole('checkbox', { name: 'Enabled: pump hot' }));
    await waitFor(() => expect(api.callsTo('PUT', '/api/v1/alarm-rules/3')).toHaveLength(1));
    const put = api.callsTo('PUT', '/api/v1/alarm-rules/3')[0];
    expect(put?.headers.get('If-Match')).toBe('"4"');
    expect(put?.body).toMatchObject({ enabled: false, machine_type: 'centrifugal_pump' });

    await user.click(screen.getByRole('button', { name: 'Delete rule pump hot' }));
    await user.click(screen.getByRole('button', { name: 'Confirm delete' }));
    await waitFor(() => expect(api.callsTo('DELETE', '/api/v1/alarm-rules/3')).toHaveLength(1));
    expect(api.callsTo('DELETE', '/api/v1/alarm-rules/3')[0]?.headers.get('If-Match')).toBe('"4"');
    expect(await screen.findByRole('status', { name: 'Last change' })).toHaveTextContent(
      'Deleted rule “pump hot”.',
    );
  });

  it('previews a draft: would-be alarms, chattering and episodes, nothing saved', async () => {
    const user = userEvent.setup();
    const api = backend([], { 'POST /api/v1/alarm-rules/preview': PREVIEW });
    renderPanel();
    const form = await newRuleForm(user);
    await fill(user, form);
    const days = within(form).getByRole('textbox', { name: 'Days' });
    await user.clear(days);
    await user.type(days, '3');
    await user.click(within(form).getByRole('button', { name: 'Preview' }));
    const preview = await within(form).findByRole('region', { name: 'Rule preview' });
    expect(api.callsTo('POST', '/api/v1/alarm-rules/preview')[0]?.body).toMatchObject({
      days: 3,
      rule: { sensor: 'temperature_c', threshold: 80, machine_type: 'centrifugal_pump' },
    });
    expect(api.callsTo('POST', '/api/v1/alarm-rules')).toHaveLength(0);
    expect(preview).toHaveTextContent('Preview over the last 3 days');
    expect(preview).toHaveTextContent('Would-be alarms4');
    expect(preview).toHaveTextContent('Chattering1');
    const episodes = within(preview).getByRole('table', { name: 'Would-be episodes' });
    expect(within(episodes).getAllByRole('row')).toHaveLength(3);
    expect(episodes).toHaveTextContent('still active');
    expect(episodes).toHaveTextContent('20 s');
  });

  it('shows why a preview failed: an endpoint missing, or a range with too many readings', async () => {
    const user = userEvent.setup();
    let answer: unknown = [
      404,
      { type: 'about:blank', title: 'Not Found', status: 404, detail: 'Not Found' },
    ];
    backend([], { 'POST /api/v1/alarm-rules/preview': () => answer });
    renderPanel();
    const form = await newRuleForm(user);
    await fill(user, form);
    await user.click(within(form).getByRole('button', { name: 'Preview' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent(
      'Could not preview the rule: Not Found',
    );
    answer = [
      422,
      {
        type: 'about:blank',
        title: 'Invalid input',
        status: 422,
        detail: 'the range holds 2,400,000 readings (at most 1,000,000): fewer days',
      },
    ];
    await user.click(within(form).getByRole('button', { name: 'Preview' }));
    await waitFor(() =>
      expect(within(form).getByRole('alert')).toHaveTextContent('2,400,000 readings'),
    );
    // A preview period out of range is caught before sending.
    const days = within(form).getByRole('textbox', { name: 'Days' });
    await user.clear(days);
    await user.type(days, '45');
    await user.click(within(form).getByRole('button', { name: 'Preview' }));
    expect(days).toHaveAccessibleDescription('1 to 30 days.');
  });

  it('lets only admins change rules', async () => {
    backend([makeRule()]);
    renderPanel('operator');
    const create = await screen.findByRole('button', { name: 'New rule' });
    expect(create).toBeDisabled();
    expect(create).toHaveAttribute('title', 'Needs the admin role');
    expect(await screen.findByRole('button', { name: 'Edit rule pump hot' })).toBeDisabled();
    expect(screen.getByRole('checkbox', { name: 'Enabled: pump hot' })).toBeDisabled();
  });
});
