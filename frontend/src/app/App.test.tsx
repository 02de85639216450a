import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { mockFetch, renderWithApp } from '../testing/render';
import { makeTwin, sampleReadings, sampleTwins } from '../testing/sampleData';
import { App } from './App';

vi.mock('../features/twin/components/SensorChart', () => ({
  default: () => <figure aria-label="Sensor chart" />,
}));

describe('App', () => {
  beforeEach(() => {
    mockFetch({
      '/api/v1/twins': sampleTwins,
      '/api/v1/twins/pump-0001': makeTwin(),
      '/api/v1/twins/pump-0001/readings': sampleReadings(),
    });
  });

  it('shows the title and the connection state', async () => {
    const { stream } = renderWithApp(<App />);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(
      'dtwin — plant digital twin',
    );
    expect(screen.getByRole('status', { name: 'Connection' })).toHaveTextContent('Live');
    await screen.findByRole('table', { name: 'Machines' });
    // Any state change re-renders the badge.
    act(() => stream.setStatus({ state: 'offline', nextRetryAt: stream.now + 4_000 }));
    expect(screen.getByRole('status', { name: 'Connection' })).toHaveTextContent('Offline');
  });

  it('keeps the selected machine in the URL', async () => {
    const user = userEvent.setup();
    renderWithApp(<App />);
    const table = await screen.findByRole('table', { name: 'Machines' });
    expect(screen.getByText('Select a machine to see its live readings.')).toBeInTheDocument();

    await user.click(within(table).getByRole('button', { name: 'pump-0001' }));
    expect(window.location.search).toBe('?machine=pump-0001');
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
    expect(await screen.findByRole('figure', { name: 'Sensor chart' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Close machine' }));
    expect(window.location.search).toBe('');
  });

  it('opens the machine named in the URL', async () => {
    window.history.replaceState(null, '', '/?machine=pump-0001');
    renderWithApp(<App />);
    expect(await screen.findByRole('region', { name: 'Machine pump-0001' })).toBeInTheDocument();
  });
});
