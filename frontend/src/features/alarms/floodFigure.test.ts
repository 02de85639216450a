import { floodFigure, FLOOD_COLOUR } from './floodFigure';
import type { AlarmReports } from './types';

const REPORT: AlarmReports = {
  start: '2026-11-23T09:00:00Z',
  end: '2026-11-23T10:00:00Z',
  raised: 19,
  flood: {
    threshold: 10,
    window_s: 600,
    windows: [
      { site: 'site-1', start: '2026-11-23T09:00:00Z', alarms: 14, flood: true },
      { site: 'site-1', start: '2026-11-23T09:10:00Z', alarms: 3, flood: false },
      { site: 'site-2', start: '2026-11-23T09:00:00Z', alarms: 2, flood: false },
    ],
    flood_windows: 1,
    percent_time_in_flood: 16.7,
  },
  frequent: [],
  chattering: [],
};

describe('the flood chart', () => {
  it('draws a bar trace per site, flood windows in the alarm colour, at the middle of the window', () => {
    const { data } = floodFigure(REPORT, 800);
    expect(data.map((trace) => trace.name)).toEqual(['site-1', 'site-2']);
    const site1 = data[0] as { x: number[]; y: number[]; marker: { color: string[] } };
    expect(site1.y).toEqual([14, 3]);
    expect(site1.x[0]).toBe(Date.parse('2026-11-23T09:05:00Z'));
    expect(site1.marker.color[0]).toBe(FLOOD_COLOUR);
    expect(site1.marker.color[1]).not.toBe(FLOOD_COLOUR);
  });

  it('marks the ISA-18.2 threshold with a dashed line and a label, and keeps it in view', () => {
    const { layout } = floodFigure({ ...REPORT, flood: { ...REPORT.flood, windows: [] } }, 800);
    expect(layout.shapes).toHaveLength(1);
    expect(layout.shapes?.[0]).toMatchObject({
      type: 'line',
      y0: 10,
      y1: 10,
      line: { dash: 'dash' },
    });
    expect(layout.annotations?.[0]?.text).toBe('flood: more than 10 per 10 min');
    expect((layout.yaxis?.range as number[])[1]).toBeGreaterThan(10);
    expect(layout.xaxis?.range).toEqual([
      Date.parse('2026-11-23T09:00:00Z'),
      Date.parse('2026-11-23T10:00:00Z'),
    ]);
  });
});
