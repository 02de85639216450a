import type { DataGap } from '../../api/types';
import { GAP_COLOUR, gapBars, gapsFigure } from './gapsFigure';

const WINDOW = { start: '2026-11-23T00:00:00Z', end: '2026-11-24T00:00:00Z' };
const GAPS: DataGap[] = [
  {
    machine_id: 'pump-0001',
    start: '2026-11-23T06:00:00Z',
    end: '2026-11-23T08:30:00Z',
    seconds: 9000,
  },
  {
    machine_id: 'pump-0001',
    start: '2026-11-23T12:00:00Z',
    end: '2026-11-23T12:00:30Z',
    seconds: 30,
  },
];

describe('gaps timeline figure', () => {
  it('draws one bar per gap from its start for its length, over the window', () => {
    const { data, layout } = gapsFigure(GAPS, WINDOW, 660);
    const trace = data[0] as {
      base: number[];
      x: number[];
      orientation: string;
      marker: { color: string };
      hovertext: string[];
    };
    expect(trace.orientation).toBe('h');
    expect(trace.base).toEqual([Date.parse(GAPS[0]!.start), Date.parse(GAPS[1]!.start)]);
    expect(trace.x[0]).toBe(9_000_000);
    expect(trace.marker.color).toBe(GAP_COLOUR);
    expect(trace.hovertext[0]).toBe('2026-11-23 06:00:00 – 2026-11-23 08:30:00 UTC (2 h 30 min)');
    expect(layout.xaxis?.range).toEqual([Date.parse(WINDOW.start), Date.parse(WINDOW.end)]);
    expect(layout.xaxis?.type).toBe('date');
  });

  it('draws a gap too short to see a few pixels wide, keeping its real times in the text', () => {
    // 24 h over 600 plot pixels: 144 s a pixel, so a 30 s gap is drawn 3 pixels (432 s) long.
    const [, short] = gapBars(GAPS, Date.parse(WINDOW.start), Date.parse(WINDOW.end), 660);
    expect(short?.length).toBe(432_000);
    expect(short?.text).toContain('12:00:30 UTC');
  });
});
