import {
  alarmMarks,
  anomalyEpisodes,
  marksInRange,
  GAP_MS,
  liveWindow,
  operatingBands,
  stickyRange,
  typicalBand,
  withGaps,
} from './chartData';

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

describe('stickyRange', () => {
  it('pads the data, and keeps the range while the data stays inside and fills it', () => {
    const first = stickyRange(null, [10, 20]);
    expect(first).toEqual([9, 21]);
    expect(stickyRange(first, [11, 19, null])).toBe(first);
    // Leaving the range, or shrinking to under a third of it, gives a new one.
    expect(stickyRange(first, [10, 25])).toEqual([8.5, 26.5]);
    expect(stickyRange(first, [14, 16])).toEqual([13.8, 16.2]);
    expect(stickyRange(first, [null, Number.NaN])).toBe(first);
  });

  it('shows a band edge only when the data comes within one data span of it', () => {
    // Far inside the band: the data fills the plot (the band shades all of it).
    expect(stickyRange(null, [7.8, 8.0], { lo: 6.5, hi: 8.4 })).toEqual([
      expect.closeTo(7.78, 6),
      expect.closeTo(8.02, 6),
    ]);
    // Close to the upper limit: the limit is in view.
    expect(stickyRange(null, [8.0, 8.25], { lo: 6.5, hi: 8.4 })).toEqual([
      expect.closeTo(7.96, 6),
      expect.closeTo(8.44, 6),
    ]);
  });
});

describe('liveWindow', () => {
  it('ends at the next full minute after the newest sample, so it moves once a minute', () => {
    const minute = 60_000;
    expect(liveWindow(10 * minute + 1, 10 * minute)).toEqual([minute, 11 * minute]);
    expect(liveWindow(11 * minute - 1, 10 * minute)).toEqual([minute, 11 * minute]);
    expect(liveWindow(11 * minute, 10 * minute)).toEqual([2 * minute, 12 * minute]);
    expect(liveWindow(Number.NEGATIVE_INFINITY, 10 * minute)).toBeNull();
  });
});

describe('operatingBands', () => {
  it("takes the machine type's ranges and learns only the sensors it lacks", () => {
    const learned: string[] = [];
    const { bands, learnedAny } = operatingBands(
      ['flow_m3_h', 'pressure_bar', 'vibration_mm_s'],
      [{ name: 'pressure_bar', lo: 2, hi: 6 }],
      (sensor) => {
        learned.push(sensor);
        return sensor === 'flow_m3_h' ? { lo: 10, hi: 20 } : null;
      },
    );
    expect(bands.get('pressure_bar')).toEqual({ lo: 2, hi: 6 });
    expect(bands.get('flow_m3_h')).toEqual({ lo: 10, hi: 20 });
    expect(bands.has('vibration_mm_s')).toBe(false);
    expect(learned).toEqual(['flow_m3_h', 'vibration_mm_s']);
    expect(learnedAny).toBe(true);
    expect(
      operatingBands(['pressure_bar'], [{ name: 'pressure_bar', lo: 2, hi: 6 }], () => null),
    ).toMatchObject({ learnedAny: false });
  });
});

describe('alarm markers', () => {
  const at = (time: string) => Date.parse(`2026-11-23T${time}Z`);
  const alarm = (id: number, condition: string, raised: string, cleared: string | null) => ({
    id,
    condition,
    priority: 'high',
    raised_at: `2026-11-23T${raised}Z`,
    cleared_at: cleared ? `2026-11-23T${cleared}Z` : null,
  });

  it("groups a machine's threshold alarms by sensor (condition <kind>:<sensor>), oldest first", () => {
    const marks = alarmMarks([
      alarm(3, 'hi:temperature_c', '09:30:00', null),
      alarm(1, 'hihi:temperature_c', '09:00:00', '09:10:00'),
      alarm(2, 'lo:flow_m3_h', '09:05:00', '09:06:00'),
      alarm(4, 'anomaly', '09:20:00', null),
      alarm(5, 'offline', '09:20:00', null),
    ]);
    expect([...marks.keys()].sort()).toEqual(['flow_m3_h', 'temperature_c']);
    expect(marks.get('temperature_c')).toEqual([
      { id: 1, start: at('09:00:00'), end: at('09:10:00'), priority: 'high' },
      { id: 3, start: at('09:30:00'), end: null, priority: 'high' },
    ]);
  });

  it('clips marks to the chart range, keeping only the edges inside it', () => {
    const marks = alarmMarks([
      alarm(1, 'hi:t', '08:00:00', '08:30:00'), // before the range
      alarm(2, 'hi:t', '08:50:00', '09:10:00'), // raised before, cleared inside
      alarm(3, 'hi:t', '09:20:00', '09:25:00'), // inside
      alarm(4, 'hi:t', '09:50:00', null), // raised inside, still active
      alarm(5, 'hi:t', '10:30:00', null), // after
    ]).get('t');
    const drawn = marksInRange(marks, [at('09:00:00'), at('10:00:00')]);
    expect(drawn).toEqual([
      {
        id: 2,
        priority: 'high',
        from: at('09:00:00'),
        to: at('09:10:00'),
        raised: null,
        cleared: at('09:10:00'),
      },
      {
        id: 3,
        priority: 'high',
        from: at('09:20:00'),
        to: at('09:25:00'),
        raised: at('09:20:00'),
        cleared: at('09:25:00'),
      },
      {
        id: 4,
        priority: 'high',
        from: at('09:50:00'),
        to: at('10:00:00'),
        raised: at('09:50:00'),
        cleared: null,
      },
    ]);
    expect(marksInRange(marks, null)).toEqual([]);
    expect(marksInRange(undefined, [0, 1])).toEqual([]);
  });
});
