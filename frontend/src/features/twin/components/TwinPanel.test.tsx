import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { SensorChartProps } from './SensorChart';
import { Dynamic, mockFetch, renderWithApp } from '../../../testing/render';
import {
  makeAnomaly,
  makeDecision,
  makeHealth,
  makeTwin,
  makeUpdate,
  sampleSeries,
  wholeTwinChange,
} from '../../../testing/sampleData';
import { alarmChange, makeAlarm } from '../../../testing/alarmData';
import { emptySensorForecast, makeSensorForecast } from '../../../testing/forecastData';
import { TwinPanel } from './TwinPanel';

// Plotly does not draw in jsdom: a stand-in shows what the chart container hands it.
vi.mock('./SensorChart', () => ({
  default: (props: SensorChartProps) => (
    <div data-testid="plot">
      {props.sensors.map((sensor) => (
        <span key={sensor} data-testid={`series-${sensor}`}>
          {props.series.get(sensor)?.y.join(',')}
        </span>
      ))}
      <span data-testid="bands">
        {[...(props.bands?.entries() ?? [])].map(([k, b]) => `${k}:${b.lo}-${b.hi}`).join(',')}
      </span>
      <button type="button" onClick={() => props.onZoom?.([ZOOM_FROM, ZOOM_TO])}>
        drag across the chart
      </button>
      <button type="button" onClick={() => props.onZoom?.(null)}>
        double-click the chart
      </button>
      <span data-testid="episodes">{props.episodes?.length ?? 0}</span>
      <span data-testid="alarm-marks">
        {[...(props.alarms?.entries() ?? [])]
          .map(([sensor, marks]) => `${sensor}:${marks.map((m) => m.id).join('+')}`)
          .join(',')}
      </span>
      <span data-testid="paused">{String(props.paused)}</span>
      <span data-testid="envelopes">
        {[...(props.envelopes?.entries() ?? [])]
          .map(([sensor, e]) => `${sensor}:${e.lo.join('/')}..${e.hi.join('/')}`)
          .join(',')}
      </span>
      <span data-testid="gap-ms">{props.gapMs ?? ''}</span>
      <span data-testid="forecasts">
        {[...(props.forecasts?.entries() ?? [])]
          .map(([sensor, f]) => `${sensor}:${f.items.length}`)
          .join(',')}
      </span>
    </div>
  ),
}));

const ZOOM_FROM = Date.parse('2026-11-20T08:00:00Z');
const ZOOM_TO = Date.parse('2026-11-20T09:30:00Z');

const ROUTES = {
  '/api/v1/twins/pump-0001': makeTwin(),
  '/api/v1/twins/pump-0001/series': new Dynamic((url) =>
    url.searchParams.get('method') === 'minmax'
      ? {
          ...sampleSeries('pump-0001', 0),
          method: 'minmax',
          source: '1m',
          sensors: {
            temperature_c: {
              t: ['2026-11-23T09:58:00Z', '2026-11-23T09:59:00Z'],
              v: [61, 62],
              raw_count: 120,
            },
          },
        }
      : sampleSeries('pump-0001', 30),
  ),
  '/api/v1/twins/pump-0001/health': makeHealth(),
  '/api/v1/twins/pump-0001/anomalies': { machine_id: 'pump-0001', items: [makeAnomaly()] },
  '/api/v1/twins/pump-0001/decisions': { machine_id: 'pump-0001', items: [makeDecision()] },
};

function renderPanel() {
  return renderWithApp(<TwinPanel machineId="pump-0001" onClose={() => {}} />);
}

const temperature = () => screen.getByTestId('series-temperature_c').textContent?.split(',');

describe('TwinPanel (chart container)', () => {
  it('seeds the chart from history and grows it with live updates of its subscription', async () => {
    mockFetch(ROUTES);
    const { stream } = renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    expect(stream.find('twins', 'machine:').spec).toEqual({
      sub: 'machine:pump-0001',
      stream: 'twins',
      filter: { machine_ids: ['pump-0001'] },
    });
    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(status).toHaveTextContent('120 points');

    act(() =>
      stream.update(
        'twins',
        [makeUpdate({ ts: '2026-11-23T10:00:00Z', readings: { temperature_c: 75 } })],
        'machine:',
      ),
    );
    await waitFor(() => expect(temperature()?.at(-1)).toBe('75'));
    expect(status).toHaveTextContent('121 points');
    expect(status).toHaveTextContent('latest sample 10:00:00 UTC');
    expect(status).toHaveTextContent('Live.');
    // Typical ranges from the data shown, and the anomaly episode from the API, go to the chart.
    expect(screen.getByTestId('bands')).toHaveTextContent('temperature_c');
    await waitFor(() => expect(screen.getByTestId('episodes')).toHaveTextContent('1'));
  });

  it('says when the chart is not live: connection lost, or machine stale', async () => {
    mockFetch(ROUTES);
    const { stream } = renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    const status = screen.getByRole('status', { name: 'Chart status' });

    act(() => stream.setStatus({ state: 'reconnecting' }));
    expect(status).toHaveTextContent('Not live (reconnecting): the chart is paused.');
    expect(screen.getByTestId('paused')).toHaveTextContent('true');

    act(() => stream.setStatus({ state: 'live' }));
    act(() =>
      stream.update('twins', [wholeTwinChange({ version: 20, status: 'stale' })], 'machine:'),
    );
    await waitFor(() => expect(status).toHaveTextContent('Not live'));
    expect(status).toHaveTextContent('machine stale');
    expect(screen.getByRole('region', { name: 'Machine pump-0001' })).toHaveTextContent('stale');
  });

  it('switches to server-downsampled history for wide ranges and says it is not live', async () => {
    const user = userEvent.setup();
    const fetchMock = mockFetch(ROUTES);
    renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    await user.click(screen.getByRole('button', { name: '24 h' }));
    await waitFor(() => expect(temperature()).toEqual(['61', '62']));
    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(status).toHaveTextContent('History: last 24 h. Not live.');
    expect(within(status).getByLabelText('Resolution')).toHaveTextContent('1-minute buckets');
    // Two points stand for 120 readings: the band of each bucket's min and max is drawn.
    expect(status).toHaveTextContent('min/max band');
    expect(screen.getByTestId('envelopes')).toHaveTextContent('temperature_c:61/62..61/62');
    expect(screen.getByTestId('gap-ms')).toHaveTextContent('90000');
    const historyCall = fetchMock.mock.calls
      .map(([input]) => String(input))
      .find((url) => url.includes('method=minmax'));
    expect(historyCall).toContain('/series?');
    expect(historyCall).toContain('width=800');
    expect(window.location.search).toBe('?range=24h');
  });

  it('draws a year from daily buckets in one request and says so', async () => {
    const user = userEvent.setup();
    // Each day's minimum and maximum, as the series endpoint sends min/max of daily buckets.
    const days = ['2026-11-20', '2026-11-21', '2026-11-22'];
    const yearly = {
      ...sampleSeries('pump-0001', 0),
      method: 'minmax',
      width: 800,
      source: '1d',
      sensors: {
        temperature_c: {
          t: days.flatMap((d) => [`${d}T00:00:00Z`, `${d}T00:00:00.001000Z`]),
          v: [50, 70, 52, 71, 49, 68],
          raw_count: 3 * 86_400,
        },
      },
    };
    const fetchMock = mockFetch({
      ...ROUTES,
      '/api/v1/twins/pump-0001/series': new Dynamic((url) =>
        url.searchParams.get('method') === 'minmax' ? yearly : sampleSeries('pump-0001', 30),
      ),
    });
    renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    expect(screen.getByRole('button', { name: '90 d' })).toBeVisible();
    await user.click(screen.getByRole('button', { name: '1 y' }));
    await waitFor(() => expect(temperature()).toEqual(['50', '70', '52', '71', '49', '68']));

    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(status).toHaveTextContent('History: last 1 y. Not live.');
    expect(within(status).getByLabelText('Resolution')).toHaveTextContent('daily buckets');
    expect(status).toHaveTextContent('min/max band');
    expect(screen.getByTestId('envelopes')).toHaveTextContent('temperature_c:50/52/49..70/71/68');
    // Days are joined (a day and a half apart breaks the line), and the legend names the band.
    expect(screen.getByTestId('gap-ms')).toHaveTextContent(String(1.5 * 86_400_000));
    expect(screen.getByText(/min … max of each day/)).toBeVisible();

    const yearCalls = fetchMock.mock.calls
      .map(([input]) => new URL(String(input), 'http://localhost'))
      .filter((url) => url.searchParams.get('method') === 'minmax');
    expect(yearCalls).toHaveLength(1);
    const call = yearCalls[0];
    expect(call?.searchParams.get('width')).toBe('800');
    const span =
      Date.parse(call?.searchParams.get('to') ?? '') -
      Date.parse(call?.searchParams.get('from') ?? '');
    expect(span).toBe(365 * 86_400_000);
    expect(window.location.search).toBe('?range=1y');
  });

  it('says when a history range shows raw readings, without a band', async () => {
    const user = userEvent.setup();
    mockFetch({
      ...ROUTES,
      '/api/v1/twins/pump-0001/series': new Dynamic((url) =>
        url.searchParams.get('method') === 'minmax'
          ? { ...sampleSeries('pump-0001', 4), method: 'minmax', source: 'raw' }
          : sampleSeries('pump-0001', 30),
      ),
    });
    renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    await user.click(screen.getByRole('button', { name: '1 h' }));
    await waitFor(() => expect(temperature()).toHaveLength(4));
    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(within(status).getByLabelText('Resolution')).toHaveTextContent('raw readings');
    expect(status).toHaveTextContent('min/max per pixel');
    expect(status).not.toHaveTextContent('band');
    expect(screen.getByTestId('envelopes')).toBeEmptyDOMElement();
  });

  it('fetches the time range dragged across a chart from history, until the zoom is reset', async () => {
    const user = userEvent.setup();
    const fetchMock = mockFetch(ROUTES);
    renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    await user.click(screen.getByRole('button', { name: 'drag across the chart' }));
    await waitFor(() => expect(temperature()).toEqual(['61', '62']));
    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(status).toHaveTextContent('History: 2026-11-20 08:00');
    expect(status).toHaveTextContent('Not live.');
    const zoomCall = fetchMock.mock.calls
      .map(([input]) => new URL(String(input), 'http://localhost'))
      .find((url) => url.searchParams.get('method') === 'minmax');
    expect(zoomCall?.searchParams.get('from')).toBe('2026-11-20T08:00:00.000Z');
    expect(zoomCall?.searchParams.get('to')).toBe('2026-11-20T09:30:00.000Z');
    // A double click (Plotly's autorange) goes back to the live window.
    await user.click(screen.getByRole('button', { name: 'double-click the chart' }));
    await waitFor(() => expect(status).toHaveTextContent('Live.'));
    expect(temperature()).toHaveLength(30);
  });

  it('draws forecasts when asked, says why sensors have none, on short ranges only', async () => {
    const user = userEvent.setup();
    const note = 'not enough history: 3 points, at least 12 needed';
    const fetchMock = mockFetch({
      ...ROUTES,
      '/api/v1/twins/pump-0001/forecast': new Dynamic((url) => {
        const sensor = url.searchParams.get('sensor') ?? '';
        return sensor === 'temperature_c'
          ? makeSensorForecast()
          : emptySensorForecast(sensor, note);
      }),
    });
    const forecastCalls = () =>
      fetchMock.mock.calls
        .map(([input]) => new URL(String(input), 'http://localhost'))
        .filter((url) => url.pathname.endsWith('/forecast'));
    renderPanel();
    await waitFor(() => expect(temperature()).toHaveLength(30));
    // Off until asked for.
    const toggle = screen.getByRole('button', { name: 'Forecast' });
    expect(toggle).toHaveAttribute('aria-pressed', 'false');
    expect(forecastCalls()).toHaveLength(0);

    await user.click(toggle);
    await waitFor(() =>
      expect(screen.getByTestId('forecasts')).toHaveTextContent('temperature_c:5'),
    );
    expect(toggle).toHaveAttribute('aria-pressed', 'true');
    expect(window.location.search).toBe('?forecast=on');
    // One request per sensor: the next 5 minutes after the live window.
    expect(new Set(forecastCalls().map((u) => u.searchParams.get('sensor')))).toEqual(
      new Set(['temperature_c', 'vibration_mm_s', 'pressure_bar', 'flow_m3_h']),
    );
    expect(forecastCalls().every((u) => u.searchParams.get('horizon') === '5')).toBe(true);
    expect(screen.getByRole('figure', { name: 'Sensor chart' })).toHaveTextContent(
      'forecast (ets(damped trend), 90%)',
    );
    // The others' reason, said once under the chart, and no error.
    const notes = await screen.findByRole('note', { name: 'Forecast note' });
    expect(notes).toHaveTextContent(note);
    expect(notes).toHaveTextContent(/No forecast for .*vibration/);
    expect(notes).not.toHaveTextContent('temperature');
    for (const alert of screen.queryAllByRole('alert')) {
      expect(alert).not.toHaveTextContent(/forecast/i);
    }

    // 24 h: the next 4 hours.
    await user.click(screen.getByRole('button', { name: '24 h' }));
    await waitFor(() =>
      expect(forecastCalls().some((u) => u.searchParams.get('horizon') === '240')).toBe(true),
    );
    // A week: a forecast would be a sliver, so none is offered or drawn.
    await user.click(screen.getByRole('button', { name: '7 d' }));
    expect(screen.getByRole('button', { name: 'Forecast' })).toBeDisabled();
    await waitFor(() => expect(screen.getByTestId('forecasts')).toBeEmptyDOMElement());
    expect(screen.queryByRole('note', { name: 'Forecast note' })).toBeNull();
  });

  it("shades the machine type's operating ranges, learned ranges only where it has none", async () => {
    mockFetch({
      ...ROUTES,
      '/api/v1/machine-types/centrifugal_pump': {
        name: 'centrifugal_pump',
        description: '',
        version: 1,
        created_at: '2026-11-20T00:00:00Z',
        updated_at: '2026-11-20T00:00:00Z',
        sensors: [{ name: 'temperature_c', unit: '°C', label: null, lo: 40, hi: 80 }],
      },
    });
    renderPanel();
    await waitFor(() =>
      expect(screen.getByTestId('bands')).toHaveTextContent('temperature_c:40-80'),
    );
    expect(screen.getByText(/normal operating range \(centrifugal pump profile/)).toBeVisible();
  });

  it('shows health, RUL with its band and the top contributing sensors', async () => {
    mockFetch(ROUTES);
    renderPanel();
    const health = await screen.findByRole('region', { name: 'Health' });
    expect(within(health).getByRole('meter', { name: 'Health index' })).toHaveAttribute(
      'aria-valuenow',
      '72',
    );
    expect(within(health).getByLabelText('Remaining useful life')).toHaveTextContent(
      '3 d (2 d – 5 d)',
    );
    const contributors = screen.getByRole('table', { name: 'Top contributing sensors' });
    const rows = within(contributors).getAllByRole('row');
    expect(rows[1]).toHaveTextContent('vibration');
    expect(rows[2]).toHaveTextContent('temperature');
  });

  it('shows the decisions timeline and appends live decisions', async () => {
    const user = userEvent.setup();
    mockFetch(ROUTES);
    const { stream } = renderPanel();
    await user.click(await screen.findByRole('tab', { name: 'Decisions' }));
    const timeline = await screen.findByRole('list', { name: 'Decisions' });
    expect(within(timeline).getAllByRole('listitem', { name: '' })[0]).toHaveTextContent(
      'defensive',
    );
    act(() =>
      stream.update(
        'decisions',
        [
          makeDecision({
            id: 2,
            ts: '2026-11-23T09:59:00Z',
            strategy: 'stable_growth',
            reasons: ['calm'],
          }),
        ],
        'decisions:',
      ),
    );
    await waitFor(() =>
      expect(within(timeline).getAllByRole('listitem')[0]).toHaveTextContent('stable growth'),
    );
  });

  it("lists the machine's alarms with their history, marks them on the charts, live", async () => {
    const user = userEvent.setup();
    const alarms = [
      makeAlarm({ id: 5, condition: 'hi:temperature_c', priority: 'critical' }),
      makeAlarm({
        id: 4,
        condition: 'lo:flow_m3_h',
        state: 'normal',
        raised_at: '2026-11-23T09:00:00Z',
        cleared_at: '2026-11-23T09:05:00Z',
        message: 'flow_m3_h 30 below lo 40 (pump-0001)',
      }),
      makeAlarm({ id: 3, condition: 'anomaly', source: 'anomaly', state: 'ack_active' }),
    ];
    let listed = alarms.slice(1);
    const fetchMock = mockFetch({
      ...ROUTES,
      '/api/v1/alarms': new Dynamic((url) =>
        url.searchParams.get('machine_id') === 'pump-0001'
          ? { items: listed, next_cursor: null }
          : { items: [], next_cursor: null },
      ),
      '/api/v1/alarms/4': {
        ...alarms[1],
        history: [
          {
            seq: 1,
            ts: '2026-11-23T09:00:00Z',
            kind: 'raised',
            state: 'unack_active',
            actor: 'system',
            comment: null,
            details: {},
          },
          {
            seq: 2,
            ts: '2026-11-23T09:06:00Z',
            kind: 'acknowledged',
            state: 'normal',
            actor: 'user:operator1',
            comment: 'valve reopened',
            details: {},
          },
        ],
      },
    });
    const { stream } = renderPanel();
    const list = await screen.findByRole('list', { name: 'Alarms of pump-0001' });
    await waitFor(() => expect(within(list).getAllByRole('listitem')).toHaveLength(2));
    expect(fetchMock.mock.calls.map(([u]) => String(u))).toContainEqual(
      expect.stringContaining('/api/v1/alarms?machine_id=pump-0001'),
    );
    // Only threshold alarms belong to a sensor's chart.
    await waitFor(() => expect(screen.getByTestId('alarm-marks')).toHaveTextContent('flow_m3_h:4'));
    expect(stream.find('alarms', 'machine-alarms:').spec).toEqual({
      sub: 'machine-alarms:pump-0001',
      stream: 'alarms',
      filter: { machine_ids: ['pump-0001'] },
    });

    await user.click(within(list).getByRole('button', { name: /lo:flow_m3_h/ }));
    const history = await screen.findByRole('list', { name: 'History of alarm 4' });
    expect(history).toHaveTextContent('acknowledged');
    expect(history).toHaveTextContent('by operator1');
    expect(history).toHaveTextContent('valve reopened');

    // A new alarm on the stream: the list (and the markers) follow.
    listed = alarms;
    act(() => stream.update('alarms', [alarmChange(alarms[0]!, 'raised')], 'machine-alarms:'));
    await waitFor(() => expect(within(list).getAllByRole('button')).toHaveLength(3));
    expect(screen.getByTestId('alarm-marks')).toHaveTextContent('temperature_c:5');
  });

  it('shows problem details when the machine is unknown', async () => {
    mockFetch({});
    renderWithApp(<TwinPanel machineId="nope" onClose={() => {}} />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load nope: Not Found');
    expect(alert).toHaveTextContent('No route /api/v1/twins/nope');
  });
});
