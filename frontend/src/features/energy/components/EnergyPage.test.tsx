import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { makeConsumption, makeHeatmap, makeMeters, makePeaks } from '../../../testing/energyData';
import { makeEnergyForecast } from '../../../testing/forecastData';
import { mockApi } from '../../../testing/mockApi';
import { renderWithApp } from '../../../testing/render';
import { EnergyPage } from './EnergyPage';

vi.mock('./ConsumptionChart', () => ({
  default: ({
    data,
    forecast,
  }: {
    data: { items: unknown[] };
    forecast?: { items: unknown[] } | null;
  }) => (
    <div data-testid="consumption-chart">
      {data.items.length} buckets{forecast ? `, forecast ${forecast.items.length} h` : ''}
    </div>
  ),
}));

const ENERGY_ROUTES = {
  'GET /api/v1/twins': makeMeters(['plant-b', 'plant-a', 'plant-a']),
  'GET /api/v1/energy/consumption': makeConsumption(),
  'GET /api/v1/energy/peaks': makePeaks(),
  'GET /api/v1/energy/heatmap': makeHeatmap(),
};

describe('Energy view', () => {
  it("shows the first metered site's consumption, cost, counter events, heatmap and peaks", async () => {
    const api = mockApi(ENERGY_ROUTES);
    renderWithApp(<EnergyPage />);

    const totals = await screen.findByLabelText('Energy totals');
    expect(totals).toHaveTextContent('Consumption1,235 kWh');
    expect(totals).toHaveTextContent('Cost€259.25');
    expect(totals).toHaveTextContent('Meters2');
    expect(await screen.findByTestId('consumption-chart')).toHaveTextContent('3 buckets');

    const events = screen.getByRole('table', { name: 'Counter events' });
    const row = (name: string) => within(events).getByRole('row', { name: new RegExp(`^${name}`) });
    expect(row('Resets')).toHaveTextContent('1');
    expect(row('Rollovers')).toHaveTextContent('2');
    expect(row('Replacements')).toHaveTextContent('0');
    expect(row('Interpolated')).toHaveTextContent('3');
    expect(row('Interpolated')).toHaveTextContent('estimated');

    const buckets = screen.getByRole('table', { name: 'Consumption per bucket' });
    // Local days in the plant's zone (Europe/Berlin): 23:00 UTC is the next local midnight.
    expect(buckets).toHaveTextContent('Wed, Dec 02400 kWh€84.00');
    expect(buckets).toHaveTextContent('Fri, Dec 04——');

    const heatmap = await screen.findByRole('table', { name: 'Consumption by weekday and hour' });
    const monday = within(heatmap).getByRole('row', { name: /^Mon/ });
    expect(within(monday).getAllByRole('cell')[9]).toHaveTextContent('10.0');
    const sunday = within(heatmap).getByRole('row', { name: /^Sun/ });
    expect(within(sunday).getAllByRole('cell')[3]).toHaveTextContent('·');

    const peaks = await screen.findByRole('table', { name: 'Monthly peak demand' });
    expect(within(peaks).getByRole('row', { name: /^2026-11/ })).toHaveTextContent(
      '2026-11312.4 kW2026-11-18 08:15',
    );
    expect(within(peaks).getByRole('row', { name: /^2026-12/ })).toHaveTextContent('no data');

    // The first site with meters (sorted), a day bucket over 31 days, peaks over 2 months.
    await waitFor(() => expect(api.callsTo('GET', '/api/v1/energy/peaks')).toHaveLength(1));
    const [meters] = api.callsTo('GET', '/api/v1/twins');
    expect(meters?.query.get('machine_type')).toBe('energy_meter');
    const [consumption] = api.callsTo('GET', '/api/v1/energy/consumption');
    expect(consumption?.query.get('scope')).toBe('site');
    expect(consumption?.query.get('id')).toBe('plant-a');
    expect(consumption?.query.get('bucket')).toBe('day');
    const from = Date.parse(consumption?.query.get('from') ?? '');
    expect(Math.round((Date.now() - from) / 86_400_000)).toBe(31);
    expect(api.callsTo('GET', '/api/v1/energy/peaks')[0]?.query.get('months')).toBe('2');
    expect(api.callsTo('GET', '/api/v1/energy/heatmap')[0]?.query.get('site')).toBe('plant-a');
  });

  it('asks for another bucket and window and keeps them in the URL', async () => {
    const user = userEvent.setup();
    const api = mockApi(ENERGY_ROUTES);
    renderWithApp(<EnergyPage />);
    await screen.findByLabelText('Energy totals');
    await user.click(screen.getByRole('button', { name: 'Month' }));
    await user.click(screen.getByRole('button', { name: '1 y' }));
    await waitFor(() => {
      const last = api.callsTo('GET', '/api/v1/energy/consumption').at(-1);
      expect(last?.query.get('bucket')).toBe('month');
      const from = Date.parse(last?.query.get('from') ?? '');
      expect(Math.round((Date.now() - from) / 86_400_000)).toBe(365);
    });
    const params = new URLSearchParams(window.location.search);
    expect(params.get('bucket')).toBe('month');
    expect(params.get('window')).toBe('365d');
    expect(screen.getByRole('button', { name: 'Month' })).toHaveAttribute('aria-pressed', 'true');
  });

  it("draws one meter's next 24 h forecast after its hourly buckets", async () => {
    const user = userEvent.setup();
    const api = mockApi({ ...ENERGY_ROUTES, 'GET /api/v1/energy/forecast': makeEnergyForecast() });
    renderWithApp(<EnergyPage />);
    await screen.findByLabelText('Energy totals');
    const meter = screen.getByRole('combobox', { name: 'Meter' });
    // plant-a's meters (meter-0001 is plant-b's).
    expect(
      within(meter)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['All of the site', 'meter-0002', 'meter-0003']);
    await user.selectOptions(meter, 'meter-0002');
    await waitFor(() => {
      const last = api.callsTo('GET', '/api/v1/energy/consumption').at(-1);
      expect(last?.query.get('scope')).toBe('meter');
      expect(last?.query.get('id')).toBe('meter-0002');
    });
    // Day buckets: the hourly forecast is offered, not drawn.
    expect(screen.getByRole('note', { name: 'Forecast note' })).toHaveTextContent(
      "Hourly buckets show meter-0002's next 24 h forecast.",
    );
    expect(api.callsTo('GET', '/api/v1/energy/forecast')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Hour' }));
    await waitFor(() =>
      expect(screen.getByTestId('consumption-chart')).toHaveTextContent('forecast 24 h'),
    );
    const [forecast] = api.callsTo('GET', '/api/v1/energy/forecast');
    expect(forecast?.query.get('meter')).toBe('meter-0002');
    expect(forecast?.query.get('hours')).toBe('24');
    expect(screen.getByRole('figure', { name: 'Consumption per bucket' })).toHaveTextContent(
      'Dashed: the next 24 h forecast in its 90% interval.',
    );
    expect(screen.queryByRole('note', { name: 'Forecast note' })).toBeNull();
    // Hours over a week by default; a year of them is more than the API prices.
    const last = api.callsTo('GET', '/api/v1/energy/consumption').at(-1);
    expect(last?.query.get('bucket')).toBe('hour');
    const from = Date.parse(last?.query.get('from') ?? '');
    expect(Math.round((Date.now() - from) / 86_400_000)).toBe(7);
    expect(screen.getByRole('button', { name: '1 y' })).toBeDisabled();
    const params = new URLSearchParams(window.location.search);
    expect(params.get('meter')).toBe('meter-0002');
    expect(params.get('bucket')).toBe('hour');
  });

  it("shows the forecast's note when the meter has too little history", async () => {
    window.history.replaceState(null, '', '/?meter=meter-0002&bucket=hour');
    const note = 'no whole hour of consumption yet';
    mockApi({
      ...ENERGY_ROUTES,
      'GET /api/v1/energy/forecast': makeEnergyForecast({ method: 'none', items: [], note }),
    });
    renderWithApp(<EnergyPage />);
    expect(await screen.findByRole('note', { name: 'Forecast note' })).toHaveTextContent(
      `No forecast for meter-0002: ${note}.`,
    );
    expect(screen.getByRole('figure', { name: 'Consumption per bucket' })).not.toHaveTextContent(
      'Dashed',
    );
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it("shows the API's note for a site without meters", async () => {
    const user = userEvent.setup();
    const note = "no energy meters (twins reporting energy_kwh) in site 'site-1'";
    mockApi({
      'GET /api/v1/twins': makeMeters([]),
      'GET /api/v1/energy/consumption': makeConsumption({
        empty: true,
        note,
        meters: [],
        items: [],
        total_kwh: 0,
        total_cost: null,
      }),
      'GET /api/v1/energy/peaks': makePeaks({
        empty: true,
        note: "no energy meters in site 'site-1'",
        items: [],
      }),
      'GET /api/v1/energy/heatmap': makeHeatmap({
        empty: true,
        note: "no energy meters in site 'site-1'",
      }),
    });
    renderWithApp(<EnergyPage />);
    expect(await screen.findByRole('note', { name: 'Meters' })).toHaveTextContent(
      'No energy meters in the fleet',
    );
    await user.type(screen.getByRole('combobox', { name: 'Site' }), 'site-1');
    expect(await screen.findByRole('note', { name: 'Consumption note' })).toHaveTextContent(note);
    expect(screen.queryByLabelText('Energy totals')).toBeNull();
    expect(await screen.findAllByText("no energy meters in site 'site-1'")).toHaveLength(2);
  });

  it('shows the problem when the consumption cannot be loaded', async () => {
    mockApi({ 'GET /api/v1/twins': makeMeters(['plant-a']) });
    renderWithApp(<EnergyPage />);
    expect(await screen.findByText(/Could not load the consumption: Not Found/)).toBeVisible();
  });
});
