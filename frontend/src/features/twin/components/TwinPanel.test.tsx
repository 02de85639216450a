import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { FakeStream } from '../../../testing/fakeStream';
import { mockFetch, renderWithApp } from '../../../testing/render';
import { makeTwin, makeUpdate, sampleReadings, SAMPLE_NOW } from '../../../testing/sampleData';
import type { SensorChartProps } from './SensorChart';
import { TwinPanel } from './TwinPanel';

// Plotly needs a real browser (covered by Playwright); here the chart only reports its props.
vi.mock('./SensorChart', () => ({
  default: ({ sensors, series, paused }: SensorChartProps) => (
    <figure aria-label="Sensor chart" data-paused={paused}>
      {sensors.map((sensor) => (
        <span key={sensor}>{`${sensor}:${series.get(sensor)?.y.join(',') ?? ''}`}</span>
      ))}
    </figure>
  ),
}));

function routes() {
  return mockFetch({
    '/api/v1/twins/pump-0001': makeTwin(),
    '/api/v1/twins/pump-0001/readings': sampleReadings('pump-0001', 3),
  });
}

describe('TwinPanel', () => {
  it('draws the history, then appends live updates for its machine only', async () => {
    const fetchMock = routes();
    const { stream } = renderWithApp(<TwinPanel machineId="pump-0001" onClose={() => {}} />);

    const chart = await screen.findByRole('figure', { name: 'Sensor chart' });
    expect(chart).toHaveTextContent('temperature_c:60.1,60.2,60.3');
    const status = screen.getByRole('status', { name: 'Chart status' });
    expect(status).toHaveTextContent('Live. 12 points · latest sample 09:59:59 UTC');
    // History asks for 600 points for each of the 4 sensors.
    const readingsUrl = fetchMock.mock.calls
      .map(([url]) => String(url))
      .find((url) => url.includes('/readings'));
    expect(readingsUrl).toBe('/api/v1/twins/pump-0001/readings?limit=2400');

    act(() => {
      stream.emit([
        makeUpdate({ id: 'pump-0002', readings: { temperature_c: 1 } }),
        makeUpdate({ ts: '2026-11-23T10:00:00Z', readings: { temperature_c: 65 } }),
      ]);
    });
    await waitFor(() => expect(chart).toHaveTextContent('temperature_c:60.1,60.2,60.3,65'));
    expect(status).toHaveTextContent('13 points · latest sample 10:00:00 UTC');
    expect(screen.getByLabelText('Latest values')).toHaveTextContent('temperature65.0 °C');
  });

  it('says so when the stream is not live instead of pretending', async () => {
    routes();
    const { stream } = renderWithApp(<TwinPanel machineId="pump-0001" onClose={() => {}} />);
    const chart = await screen.findByRole('figure', { name: 'Sensor chart' });
    act(() => stream.setStatus({ state: 'reconnecting', failures: 2 }));
    expect(screen.getByRole('status', { name: 'Chart status' })).toHaveTextContent(
      'Not live (reconnecting): the chart is paused.',
    );
    expect(chart).toHaveAttribute('data-paused', 'true');
  });

  it('warns when the machine itself has gone quiet', async () => {
    routes();
    const stream = new FakeStream(SAMPLE_NOW + 60_000);
    renderWithApp(<TwinPanel machineId="pump-0001" onClose={() => {}} />, stream);
    await screen.findByRole('figure', { name: 'Sensor chart' });
    expect(screen.getByRole('status', { name: 'Chart status' })).toHaveTextContent(
      'No new data for 60 s.',
    );
  });

  it('shows the problem title and detail for an unknown machine', async () => {
    const user = userEvent.setup();
    const onClose = vi.fn();
    routes();
    renderWithApp(<TwinPanel machineId="nope" onClose={onClose} />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load nope: Not Found');
    expect(alert).toHaveTextContent('No route /api/v1/twins/nope');
    await user.click(screen.getByRole('button', { name: 'Close machine' }));
    expect(onClose).toHaveBeenCalled();
  });
});
