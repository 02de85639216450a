import { makeConsumption } from '../../testing/energyData';
import { makeEnergyForecast } from '../../testing/forecastData';
import { consumptionFigure } from './consumptionFigure';

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

describe('consumptionFigure', () => {
  it("draws a meter's forecast after its hourly bars: the band pair, then the dashed mean", () => {
    const forecast = makeEnergyForecast();
    const { data, layout } = consumptionFigure(hourly, 800, forecast);
    const traces = records(data);
    expect(traces.map((t) => t.type)).toEqual(['bar', 'scatter', 'scatter', 'scatter', 'scatter']);
    const [bars, , lo, hi, mean] = traces;
    expect(bars?.x).toEqual(['Fri, Dec 04, 21:00', 'Fri, Dec 04, 22:00']);
    // The forecast's hours are categories after the bars' (the axis grows to hold them).
    expect((lo?.x as string[])[0]).toBe('Fri, Dec 04, 23:00');
    expect((mean?.x as string[]).at(-1)).toBe('Sat, Dec 05, 22:00');
    expect(hi?.fill).toBe('tonexty');
    expect((mean?.line as { dash: string }).dash).toBe('dash');
    expect(mean?.name).toBe('forecast (holt_winters(season=24), 90%)');
    expect(mean?.hovertemplate).toContain('kWh (90%:');
    expect(mean?.yaxis).toBeUndefined();
    expect(layout.showlegend).toBe(true);
  });

  it('draws no forecast on other buckets or without points', () => {
    const daily = consumptionFigure(makeConsumption(), 800, makeEnergyForecast());
    expect(records(daily.data).map((t) => t.type)).toEqual(['bar', 'scatter']);
    const none = consumptionFigure(hourly, 800, makeEnergyForecast({ items: [], note: 'x' }));
    expect(records(none.data)).toHaveLength(2);
  });
});
