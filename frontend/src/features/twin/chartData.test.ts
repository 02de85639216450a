import { anomalyEpisodes, GAP_MS, typicalBand, withGaps } from './chartData';

describe('withGaps', () => {
  it('breaks the line where data pauses longer than the gap', () => {
    const x = [0, 1000, 2000, 2000 + GAP_MS + 1, 3000 + GAP_MS + 1];
    const result = withGaps({ x, y: [1, 2, 3, 4, 5] });
    expect(result.y).toEqual([1, 2, 3, null, 4, 5]);
    expect(result.x).toEqual([0, 1000, 2000, 2001, 2000 + GAP_MS + 1, 3000 + GAP_MS + 1]);
  });

  it('leaves regular series alone', () => {
    expect(withGaps({ x: [0, 1000], y: [1, 2] })).toEqual({ x: [0, 1000], y: [1, 2] });
    expect(withGaps({ x: [], y: [] })).toEqual({ x: [], y: [] });
  });
});

describe('typicalBand', () => {
  it('is median ± 3 robust sigmas, ignoring outliers', () => {
    const values = [
      ...Array<number>(20).fill(9.9),
      ...Array<number>(21).fill(10),
      ...Array<number>(20).fill(10.1),
      1000,
    ];
    const band = typicalBand(values);
    expect(band?.lo).toBeCloseTo(10 - 3 * 1.4826 * 0.1, 3);
    expect(band?.hi).toBeCloseTo(10 + 3 * 1.4826 * 0.1, 3);
    expect(typicalBand([1, 2, 3])).toBeNull();
  });
});

describe('anomalyEpisodes', () => {
  it('joins start and resolved events into episodes; open ones end now', () => {
    const base = { peak_score: 0.8, explanation: [{ sensor: 'vibration_mm_s' }] };
    const episodes = anomalyEpisodes(
      [
        { ...base, ts: '2026-11-23T09:00:00Z', kind: 'start', started_at: '2026-11-23T09:00:00Z' },
        {
          ...base,
          ts: '2026-11-23T09:05:00Z',
          kind: 'resolved',
          started_at: '2026-11-23T09:00:00Z',
        },
        { ...base, ts: '2026-11-23T09:30:00Z', kind: 'start', started_at: '2026-11-23T09:30:00Z' },
      ],
      Date.parse('2026-11-23T10:00:00Z'),
    );
    expect(episodes).toEqual([
      {
        start: Date.parse('2026-11-23T09:00:00Z'),
        end: Date.parse('2026-11-23T09:05:00Z'),
        open: false,
        peak: 0.8,
        sensors: ['vibration_mm_s'],
      },
      {
        start: Date.parse('2026-11-23T09:30:00Z'),
        end: Date.parse('2026-11-23T10:00:00Z'),
        open: true,
        peak: 0.8,
        sensors: ['vibration_mm_s'],
      },
    ]);
  });
});
