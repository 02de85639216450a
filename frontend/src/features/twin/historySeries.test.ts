import { minMaxEnvelope } from './chartData';
import {
  describeSource,
  historyGapMs,
  resolutionUnit,
  seriesEnvelopes,
  seriesView,
} from './historySeries';
import { sampleSeries } from '../../testing/sampleData';

describe('history series', () => {
  it('names every resolution the series and history endpoints answer with', () => {
    expect(describeSource('raw')).toBe('raw readings');
    expect(describeSource('1h')).toBe('hourly buckets');
    expect(describeSource('1d')).toBe('daily buckets');
    expect(describeSource('6h')).toBe('6-hour buckets');
    expect(describeSource('1mo')).toBe('monthly buckets');
    expect(describeSource('1m')).toBe('1-minute buckets');
    // The history endpoint's longer form.
    expect(describeSource('archive+rollup:1d+raw')).toBe('daily buckets');
    expect(resolutionUnit('1d')).toBe('day');
    expect(resolutionUnit('raw')).toBe('pixel column');
  });

  it('joins points a bucket apart and breaks the line where one is missing', () => {
    expect(historyGapMs('1d', 365 * 86_400_000, 800)).toBe(1.5 * 86_400_000);
    // Raw min/max: three of the 400 pixel columns of a day.
    expect(historyGapMs('raw', 86_400_000, 800)).toBe((3 * 86_400_000) / 400);
    // Never tighter than the live chart's.
    expect(historyGapMs('raw', 60_000, 800)).toBe(10_000);
  });

  it("bands each column's extremes, keeping a bucket's min and max together", () => {
    const day = 86_400_000;
    const envelope = minMaxEnvelope(
      { x: [0, 1, day, day + 1, 3 * day, 3 * day + 1], y: [5, 9, 4, 8, 6, 7] },
      400,
    );
    expect(envelope).toEqual({ x: [0, day, 3 * day], lo: [5, 4, 6], hi: [9, 8, 7] });
    expect(minMaxEnvelope({ x: [0], y: [1] }, 400)).toBeNull();
  });

  it('bands only min/max series that stand for more readings than they have points', () => {
    const raw = sampleSeries('pump-0001', 5);
    expect(seriesEnvelopes({ ...raw, method: 'minmax' }, seriesView(raw))).toBeNull();
    const reduced = {
      ...raw,
      method: 'minmax',
      sensors: {
        temperature_c: {
          t: ['2026-11-23T09:00:00Z', '2026-11-23T09:30:00Z'],
          v: [1, 2],
          raw_count: 500,
        },
      },
    };
    expect([...(seriesEnvelopes(reduced, seriesView(reduced))?.keys() ?? [])]).toEqual([
      'temperature_c',
    ]);
    expect(seriesEnvelopes({ ...reduced, method: 'lttb' }, seriesView(reduced))).toBeNull();
  });
});
