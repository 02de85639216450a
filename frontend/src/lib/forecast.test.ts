import { forecastPoints } from '../testing/forecastData';
import {
  extendRange,
  forecastEnd,
  forecastLabel,
  forecastTraces,
  forecastValues,
  groupNotes,
  intervalPercent,
} from './forecast';

const FIRST = '2026-11-23T10:00:00Z';
const T0 = Date.parse(FIRST);
const items = forecastPoints(FIRST, 3, 60_000);
const style = { name: 'forecast (ets(damped trend), 90%)', interval: 0.9, unit: '°C' };

// The traces as plain records, to read their fields without Plotly's union of trace types.
const fields = (traces: unknown[]) => traces as Array<Record<string, unknown>>;

describe('forecastLabel', () => {
  it('names the model and the interval', () => {
    expect(forecastLabel('ets(damped trend)', 0.9)).toBe('forecast (ets(damped trend), 90%)');
    expect(intervalPercent(0.975)).toBe('97.5%');
  });
});

describe('forecastTraces', () => {
  it('draws nothing without points', () => {
    expect(forecastTraces([], style)).toEqual([]);
  });

  it('draws the band as a pair (lower edge, then the upper one filled down to it), then the mean', () => {
    const [lo, hi, mean, ...rest] = fields(forecastTraces(items, style));
    expect(rest).toEqual([]);
    const x = [T0, T0 + 60_000, T0 + 120_000];
    expect(lo).toMatchObject({ x, y: [58, 59, 60], hoverinfo: 'skip', showlegend: false });
    expect(lo?.fill).toBeUndefined();
    expect((lo?.line as { width: number }).width).toBe(0);
    expect(hi).toMatchObject({ x, y: [62, 63, 64], fill: 'tonexty', hoverinfo: 'skip' });
    expect(hi?.fillcolor).toMatch(/^rgba\(/);
    expect(mean).toMatchObject({ x, y: [60, 61, 62], name: style.name, mode: 'lines' });
    expect((mean?.line as { dash: string }).dash).toBe('dash');
    expect(mean?.customdata).toEqual([
      [58, 62],
      [59, 63],
      [60, 64],
    ]);
  });

  it('says the value, its interval and the model in the hover of the mean', () => {
    const mean = fields(forecastTraces(items, style))[2];
    expect(mean?.hovertemplate).toBe(
      '%{y:.3~f} °C (90%: %{customdata[0]:.3~f} – %{customdata[1]:.3~f})' +
        '<extra>forecast (ets(damped trend), 90%)</extra>',
    );
  });

  it('puts points on a category axis, a second y axis and the legend when asked', () => {
    const traces = fields(
      forecastTraces(items, {
        name: 'forecast (hw, 90%)',
        interval: 0.9,
        x: (ts) => `hour ${new Date(ts).getUTCMinutes()}`,
        valueFormat: ',.1f',
        unit: 'kWh',
        hoverX: true,
        yaxis: 'y2',
        showlegend: true,
      }),
    );
    for (const trace of traces) {
      expect(trace.x).toEqual(['hour 0', 'hour 1', 'hour 2']);
      expect(trace.yaxis).toBe('y2');
    }
    expect(traces.map((t) => t.showlegend)).toEqual([false, false, true]);
    expect(traces[2]?.hovertemplate).toBe(
      '%{x}: %{y:,.1f} kWh (90%: %{customdata[0]:,.1f} – %{customdata[1]:,.1f})' +
        '<extra>forecast (hw, 90%)</extra>',
    );
  });
});

describe('ranges and values', () => {
  it('gives every drawn value and the last point', () => {
    expect(forecastValues(items.slice(0, 1))).toEqual([58, 60, 62]);
    expect(forecastEnd(items)).toBe(T0 + 120_000);
    expect(forecastEnd([])).toBeNull();
  });

  it('widens a range to the end of a forecast, never narrows it', () => {
    expect(extendRange([0, 100], 150)).toEqual([0, 150]);
    expect(extendRange([0, 100], 50)).toEqual([0, 100]);
    expect(extendRange([0, 100], null)).toEqual([0, 100]);
    expect(extendRange(null, 150)).toBeNull();
  });

  it('says each note once, with the series it is about', () => {
    expect(
      groupNotes([
        ['a', 'not enough history'],
        ['b', 'too gappy'],
        ['c', 'not enough history'],
      ]),
    ).toEqual([
      { note: 'not enough history', names: ['a', 'c'] },
      { note: 'too gappy', names: ['b'] },
    ]);
  });
});
