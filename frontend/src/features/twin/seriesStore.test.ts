import { makeUpdate, sampleReadings } from '../../testing/sampleData';
import { SeriesStore } from './seriesStore';

describe('SeriesStore', () => {
  it('seeds per-sensor series from history', () => {
    const store = new SeriesStore(600);
    store.loadHistory(sampleReadings('pump-0001', 5).items);
    expect(store.sensors()).toEqual([
      'flow_m3_h',
      'pressure_bar',
      'temperature_c',
      'vibration_mm_s',
    ]);
    expect(store.totalPoints).toBe(20);
    expect(store.snapshot('temperature_c').y).toEqual([60.1, 60.2, 60.3, 60.4, 60.5]);
    expect(store.latestTime).toBe(Date.parse('2026-11-23T09:59:59Z'));
  });

  it('appends live points, bounded by capacity, and skips stale ones', () => {
    const store = new SeriesStore(3);
    store.loadHistory(sampleReadings('pump-0001', 5).items);
    expect(store.snapshot('temperature_c').y).toEqual([60.3, 60.4, 60.5]);

    expect(store.append(makeUpdate({ readings: { temperature_c: 99 } }), 1)).toBe(true);
    expect(store.snapshot('temperature_c').y).toEqual([60.4, 60.5, 99]);
    expect(store.append(makeUpdate({ ts: '2026-11-23T09:00:00Z' }), 2)).toBe(false);
    expect(store.lastReceivedAt).toBe(1);
  });

  it('keeps live points that arrived before the history', () => {
    const store = new SeriesStore(600);
    store.append(makeUpdate({ ts: '2026-11-23T10:00:00Z', readings: { temperature_c: 70 } }), 1);
    store.append(makeUpdate({ ts: '2026-11-23T09:59:58Z', readings: { temperature_c: 1 } }), 1);
    store.loadHistory(sampleReadings('pump-0001', 3).items);
    const { x, y } = store.snapshot('temperature_c');
    expect(y).toEqual([60.1, 60.2, 60.3, 70]);
    expect(x.at(-1)).toBe(Date.parse('2026-11-23T10:00:00Z'));
  });
});
