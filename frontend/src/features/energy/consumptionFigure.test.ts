import { makeConsumption } from '../../testing/energyData';
import { makeEnergyForecast } from '../../testing/forecastData';
import { consumptionFigure, MAX_TICKS } from './consumptionFigure';

const hourly = makeConsumption({
  scope: 'meter',
  id: 'meter-0002',
  bucket: 'hour',
  tz: 'UTC',
  items: [21, 22].map((h) => ({
    start: `2026-12-04T${h}:00:00Z`,
    end: `2026-12-04T${h + 1}:00:00Z`,
    kwh: 12,
    cost: 2.4,
    flags: { resets: 0, rollovers: 0, replacements: 0, interpolated: 0 },
  })),
});

const records = (data: unknown[]) => data as Array<Record<string, unknown>>;
const utc = (text: string) => Date.parse(`${text}Z`);
const HOUR = 3_600_000;

/** A week of hours in Berlin from `2026-11-29T23:00Z` (local midnight), 12 kWh each. */
const week = makeConsumption({
  bucket: 'hour',
  start: '2026-11-29T23:00:00Z',
  end: '2026-12-06T23:00:00Z',
  items: Array.from({ length: 168 }, (_, h) => ({
    start: new Date(Date.parse('2026-11-29T23:00:00Z') + h * HOUR).toISOString(),
    end: new Date(Date.parse('2026-11-29T23:00:00Z') + (h + 1) * HOUR).toISOString(),
    kwh: 12,
    cost: 2.4,
    flags: { resets: 0, rollovers: 0, replacements: 0, interpolated: 0 },
  })),
});

describe('consumptionFigure', () => {
  it("draws a meter's forecast after its hourly bars: the band pair, then the dashed mean", () => {
    const forecast = makeEnergyForecast();
    const { data, layout } = consumptionFigure(hourly, 800, forecast);
    const traces = records(data);
    expect(traces.map((t) => t.type)).toEqual(['bar', 'scatter', 'scatter', 'scatter', 'scatter']);
    const [bars, , lo, hi, mean] = traces;
    // The plant's wall clock on a date axis (UTC here), each bar in the middle 80% of its hour.
    expect(bars?.x).toEqual([utc('2026-12-04T21:00'), utc('2026-12-04T22:00')]);
    expect(bars?.width).toEqual([0.8 * HOUR, 0.8 * HOUR]);
    expect(bars?.offset).toEqual([0.1 * HOUR, 0.1 * HOUR]);
    expect(bars?.customdata).toEqual(['Fri, Dec 04, 21:00', 'Fri, Dec 04, 22:00']);
    // The forecast's hours follow the bars, each point in the middle of its hour.
    expect((lo?.x as number[])[0]).toBe(utc('2026-12-04T23:30'));
    expect((mean?.x as number[]).at(-1)).toBe(utc('2026-12-05T22:30'));
    expect(hi?.fill).toBe('tonexty');
    expect((mean?.line as { dash: string }).dash).toBe('dash');
    expect(mean?.name).toBe('forecast (holt_winters(season=24), 90%)');
    expect(mean?.hovertemplate).toContain('kWh (90%:');
    expect(mean?.yaxis).toBeUndefined();
    // The axis holds the hours and the forecast's, without padding.
    expect(layout.xaxis?.range).toEqual([utc('2026-12-04T21:00'), utc('2026-12-05T23:00')]);
    expect(layout.showlegend).toBe(true);
  });

  it('draws no forecast on other buckets or without points', () => {
    const daily = consumptionFigure(makeConsumption(), 800, makeEnergyForecast());
    expect(records(daily.data).map((t) => t.type)).toEqual(['bar', 'scatter']);
    const none = consumptionFigure(hourly, 800, makeEnergyForecast({ items: [], note: 'x' }));
    expect(records(none.data)).toHaveLength(2);
  });

  it('labels a week of hours with a few ticks, not 168 labels, in the plant zone', () => {
    const { data, layout } = consumptionFigure(week, 1500);
    const [bars, cost] = records(data);
    expect(layout.xaxis?.type).toBe('date');
    expect(layout.xaxis?.nticks).toBe(MAX_TICKS);
    // Berlin's midnight (23:00 UTC) reads as midnight on the axis.
    expect((bars?.x as number[])[0]).toBe(utc('2026-11-30T00:00'));
    expect((bars?.customdata as string[])[0]).toBe('Mon, Nov 30, 00:00');
    // The cost line's points are the middles of the hours.
    expect((cost?.x as number[])[0]).toBe(utc('2026-11-30T00:30'));
    // Days apart, a tick says which day.
    const stops = layout.xaxis?.tickformatstops ?? [];
    const format = (dtick: number) =>
      stops.find((s) => {
        const [lo, hi] = s.dtickrange ?? [null, null];
        return (lo === null || Number(lo) <= dtick) && (hi === null || Number(hi) >= dtick);
      })?.value;
    expect(format(86_400_000)).toBe('%a %d %b');
    expect(format(2 * 86_400_000)).toBe('%a %d %b');
    expect(format(7 * 86_400_000)).toBe('%d %b');
    expect(format(6 * HOUR)).toBe('');
    expect(layout.xaxis?.range).toEqual([utc('2026-11-30T00:00'), utc('2026-12-07T00:00')]);
    expect(layout.xaxis?.hoverformat).toBe('%a, %b %d, %H:00');
  });

  it('has fewer ticks on a narrow chart', () => {
    expect(consumptionFigure(week, 420).layout.xaxis?.nticks).toBe(4);
    expect(consumptionFigure(week, 100).layout.xaxis?.nticks).toBe(2);
  });

  it('gives each day or month bar its own length of time', () => {
    const daily = records(consumptionFigure(makeConsumption(), 800).data)[0];
    expect(daily?.x).toEqual([
      utc('2026-12-02T00:00'),
      utc('2026-12-03T00:00'),
      utc('2026-12-04T00:00'),
    ]);
    expect(daily?.width).toEqual([0.8 * (24 * HOUR), 0.8 * (24 * HOUR), 0.8 * (24 * HOUR)]);
    const monthly = consumptionFigure(
      makeConsumption({
        bucket: 'month',
        items: [
          {
            start: '2026-01-31T23:00:00Z',
            end: '2026-02-28T23:00:00Z',
            kwh: 9000,
            cost: 1800,
            flags: { resets: 0, rollovers: 0, replacements: 0, interpolated: 0 },
          },
        ],
      }),
      800,
    );
    const [bar] = records(monthly.data);
    expect(bar?.x).toEqual([utc('2026-02-01T00:00')]);
    expect(bar?.width).toEqual([0.8 * (28 * 24 * HOUR)]);
    expect(bar?.customdata).toEqual(['Feb 2026']);
    expect(monthly.layout.xaxis?.hoverformat).toBeUndefined();
  });
});
