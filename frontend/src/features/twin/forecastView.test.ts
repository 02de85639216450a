import { ApiError } from '../../api/client';
import { emptySensorForecast, makeSensorForecast } from '../../testing/forecastData';
import { forecastQueryOptions, type ForecastResult } from './api';
import { forecastView } from './forecastView';

const SENSORS = ['temperature_c', 'vibration_mm_s', 'pressure_bar'];

describe('forecastView', () => {
  it('draws the answers with points, names their model, and says why the others have none', () => {
    const temperature = makeSensorForecast();
    const results = new Map<string, ForecastResult>([
      ['temperature_c', { forecast: temperature }],
      ['vibration_mm_s', { forecast: emptySensorForecast('vibration_mm_s', 'too gappy') }],
      [
        'pressure_bar',
        {
          error: new ApiError({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: null,
          }),
        },
      ],
    ]);
    const view = forecastView(results, SENSORS);
    expect(view.forecasts.get('temperature_c')).toBe(temperature);
    expect(view.forecasts.has('pressure_bar')).toBe(false);
    expect(view.legend).toBe('forecast (ets(damped trend), 90%)');
    expect(view.notes).toEqual([
      { note: 'too gappy', names: ['vibration'] },
      { note: 'unavailable (Service Unavailable)', names: ['pressure'] },
    ]);
  });

  it('says a reason shared by every sensor once, for all of them', () => {
    const note = 'not enough history: 3 points, at least 12 needed';
    const results = new Map<string, ForecastResult>(
      SENSORS.map((s) => [s, { forecast: emptySensorForecast(s, note) }]),
    );
    const view = forecastView(results, SENSORS);
    expect(view.legend).toBeNull();
    expect(view.notes).toEqual([{ note, names: ['all sensors'] }]);
  });

  it('shows nothing for sensors not answered yet', () => {
    const view = forecastView(new Map(), SENSORS);
    expect(view).toEqual({ forecasts: new Map(), legend: null, notes: [] });
  });
});

describe('forecastQueryOptions', () => {
  it('asks again at most once a minute (the server refits once a minute)', () => {
    const options = forecastQueryOptions('pump-0001', 'temperature_c', 5);
    expect(options.queryKey).toEqual(['twin', 'pump-0001', 'forecast', 'temperature_c', 5]);
    expect(options.staleTime).toBe(60_000);
    expect(options.refetchInterval).toBe(60_000);
  });
});
