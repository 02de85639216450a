// Sample twins, readings, changes and analytics shaped like the backend contract.
import type {
  AnomalyEvent,
  Decision,
  HealthRead,
  ReadingList,
  Series,
  Twin,
  TwinList,
} from '../api/types';
import type { ReportedChange, WholeTwinChange } from '../realtime/messages';

/** The fixed "now" of the samples: every twin was last seen shortly before it. */
export const SAMPLE_NOW = Date.parse('2026-11-23T10:00:00Z');

export function makeTwin(overrides: Partial<Twin> = {}): Twin {
  return {
    id: 'pump-0001',
    machine_type: 'centrifugal_pump',
    site: 'site-1',
    line: 'line-1',
    status: 'online',
    ts: '2026-11-23T09:59:59.000Z',
    last_seen: '2026-11-23T09:59:59.200Z',
    quality: 'good',
    version: 10,
    created_at: '2026-11-23T08:00:00.000Z',
    updated_at: '2026-11-23T09:59:59.200Z',
    readings: { temperature_c: 61.25, vibration_mm_s: 2.31, pressure_bar: 4.5, flow_m3_h: 120.4 },
    reported: { mode: 'on', speed_setpoint_rpm: 2950 },
    attributes: {},
    health: 92,
    anomaly_score: 0.05,
    strategy: 'stable_growth',
    desired: {},
    desired_version: 0,
    delta: {},
    command: null,
    ...overrides,
  };
}

/** A `twin` change (the whole twin as the server stores it) of `makeTwin(overrides)`. */
export function wholeTwinChange(overrides: Partial<Twin> = {}): WholeTwinChange {
  const { status, command, ...twin } = makeTwin(overrides);
  return {
    kind: 'twin',
    ...twin,
    created_at: twin.created_at ?? null,
    updated_at: twin.updated_at ?? null,
    health: twin.health ?? null,
    anomaly_score: twin.anomaly_score ?? null,
    strategy: twin.strategy ?? null,
    reported: twin.reported ?? {},
    attributes: twin.attributes ?? {},
    desired: twin.desired ?? {},
    desired_version: twin.desired_version ?? 0,
    delta: twin.delta ?? {},
    command: command
      ? {
          ...command,
          ts: command.ts ?? null,
          applied: command.applied ?? {},
          rejected: command.rejected ?? {},
        }
      : null,
    status_known: status ?? null,
  };
}

export const sampleTwins: TwinList = {
  items: [
    makeTwin(),
    makeTwin({
      id: 'compressor-0002',
      machine_type: 'air_compressor',
      site: 'site-2',
      line: 'line-2',
      quality: 'uncertain',
      health: 41,
      anomaly_score: 0.82,
      readings: { temperature_c: 88.1, current_a: 31.7, speed_rpm: 2950, power_kw: 55.2 },
    }),
    makeTwin({
      id: 'conveyor-0003',
      machine_type: 'conveyor',
      site: 'site-1',
      line: 'line-2',
      status: 'offline',
      ts: '2026-11-23T09:50:00.000Z',
      last_seen: '2026-11-23T09:50:00.000Z',
      quality: 'bad',
      health: 67,
      anomaly_score: 0.31,
      readings: { speed_rpm: 1450, current_a: 12.2 },
    }),
  ],
  count: 3,
};

/** A `reported` change of the sample pump at 10:00:00. */
export function makeUpdate(overrides: Partial<ReportedChange> = {}): ReportedChange {
  return {
    id: 'pump-0001',
    version: 11,
    kind: 'reported',
    ts: '2026-11-23T10:00:00.000Z',
    last_seen: '2026-11-23T10:00:00.050Z',
    quality: 'good',
    readings: { temperature_c: 62 },
    ...overrides,
  };
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

export function makeAnomaly(overrides: Partial<AnomalyEvent> = {}): AnomalyEvent {
  return {
    id: 1,
    machine_id: 'pump-0001',
    machine_type: 'centrifugal_pump',
    ts: '2026-11-23T09:59:30.000Z',
    kind: 'start',
    started_at: '2026-11-23T09:59:30.000Z',
    score: 0.91,
    peak_score: 0.91,
    threshold: 0.6,
    detector: 'zscore',
    explanation: [{ sensor: 'vibration_mm_s', value: 9.1, expected: 2.3, z: 7.2 }],
    ...overrides,
  };
}

export function makeDecision(overrides: Partial<Decision> = {}): Decision {
  return {
    id: 1,
    machine_id: 'pump-0001',
    ts: '2026-11-23T09:58:00.000Z',
    strategy: 'defensive',
    confidence: 0.8,
    risk: 0.7,
    opportunity: 0.1,
    stability: 0.4,
    reasons: ['vibration rising', 'health below 60'],
    ...overrides,
  };
}

export function makeHealth(overrides: Partial<HealthRead> = {}): HealthRead {
  return {
    machine_id: 'pump-0001',
    scored: true,
    health: 72.4,
    anomaly_score: 0.64,
    is_anomaly: true,
    explanation: [
      { sensor: 'vibration_mm_s', value: 9.1, expected: 2.3, z: 7.2, pct_of_range: 0.91 },
      { sensor: 'temperature_c', value: 71, expected: 61, z: 3.1, pct_of_range: 0.7 },
    ],
    rul: { seconds: 86_400 * 3, lower_s: 86_400 * 2, upper_s: 86_400 * 5 },
    trend_per_hour: -0.8,
    strategy: 'defensive',
    decision: null,
    ts: '2026-11-23T09:59:59.000Z',
    ...overrides,
  };
}

/** The same history as `sampleReadings`, as the series endpoint answers it. */
export function sampleSeries(machineId = 'pump-0001', points = 5): Series {
  const sensors: Series['sensors'] = {};
  for (const item of sampleReadings(machineId, points).items) {
    const entry = (sensors[item.sensor] ??= { t: [], v: [], raw_count: 0 });
    entry.t.push(item.ts);
    entry.v.push(item.value);
    entry.raw_count += 1;
  }
  return {
    machine_id: machineId,
    start: '2026-11-23T09:50:00Z',
    end: '2026-11-23T10:00:00Z',
    width: 600,
    method: 'lttb',
    source: 'raw',
    sensors,
  };
}
