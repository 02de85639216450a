// Sample twins, readings and updates shaped like the backend contract.
import type { ReadingList, Twin, TwinList, TwinUpdate } from '../api/types';

/** The fixed "now" of the samples: every twin was last seen shortly before it. */
export const SAMPLE_NOW = Date.parse('2026-11-23T10:00:00Z');

export function makeTwin(overrides: Partial<Twin> = {}): Twin {
  return {
    id: 'pump-0001',
    machine_type: 'pump',
    site: 'plant-a',
    line: 'line-1',
    ts: '2026-11-23T09:59:59.000Z',
    last_seen: '2026-11-23T09:59:59.200Z',
    quality: 'good',
    readings: { temperature_c: 61.25, vibration_mm_s: 2.31, pressure_bar: 4.5, flow_m3_h: 120.4 },
    ...overrides,
  };
}

export const sampleTwins: TwinList = {
  items: [
    makeTwin(),
    makeTwin({
      id: 'compressor-0002',
      machine_type: 'compressor',
      line: 'line-2',
      quality: 'uncertain',
      readings: { temperature_c: 88.1, current_a: 31.7, speed_rpm: 2950, power_kw: 55.2 },
    }),
    makeTwin({
      id: 'conveyor-0003',
      machine_type: 'conveyor',
      site: null,
      line: null,
      ts: '2026-11-23T09:59:30.000Z',
      // Last seen 30 s before SAMPLE_NOW: stale.
      last_seen: '2026-11-23T09:59:30.000Z',
      quality: 'bad',
      readings: { speed_rpm: 1450, current_a: 12.2 },
    }),
  ],
  count: 3,
};

export function makeUpdate(overrides: Partial<TwinUpdate> = {}): TwinUpdate {
  const { last_seen: _ignored, ...twin } = makeTwin();
  void _ignored;
  return { ...twin, ts: '2026-11-23T10:00:00.000Z', ...overrides };
}

/** History of `points` seconds for each sensor of the sample pump, ending at 09:59:59. */
export function sampleReadings(machineId = 'pump-0001', points = 5): ReadingList {
  const end = Date.parse('2026-11-23T09:59:59Z');
  const sensors = { temperature_c: 60, vibration_mm_s: 2, pressure_bar: 4, flow_m3_h: 120 };
  const items: ReadingList['items'] = [];
  for (let i = points - 1; i >= 0; i -= 1) {
    const ts = new Date(end - i * 1000).toISOString();
    for (const [sensor, base] of Object.entries(sensors)) {
      items.push({ ts, sensor, value: base + (points - i) / 10, quality: 'good' });
    }
  }
  return { machine_id: machineId, items };
}
