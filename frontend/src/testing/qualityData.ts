// Sample answers of the data-quality endpoints for component tests (shaped like docs/api.md's).
import type { DataQualityRules, DataQualitySummary, MachineDataQuality } from '../api/types';

export const RULES: DataQualityRules = {
  enabled: true,
  gap_factor: 5,
  gap_floor_s: 10,
  lateness_s: 5,
  clock_offset_threshold_s: 2,
  clock_correction: false,
};

export function makeFleetQuality(overrides: Partial<DataQualitySummary> = {}): DataQualitySummary {
  return {
    start: '2026-11-22T10:00:00Z',
    end: '2026-11-23T10:00:00Z',
    counts: { physical_range: 12, gap: 3, duplicate: 40, late: 7, clock_offset: 3600 },
    machines_affected: 2,
    top_machines: [
      {
        machine_id: 'pump-0003',
        total: 3601,
        counts: { physical_range: 0, gap: 1, duplicate: 0, late: 0, clock_offset: 3600 },
      },
      {
        machine_id: 'motor-0004',
        total: 14,
        counts: { physical_range: 12, gap: 2, duplicate: 0, late: 0, clock_offset: 0 },
      },
    ],
    gaps: 3,
    gap_seconds: 420,
    clock_offsets: [
      {
        machine_id: 'pump-0003',
        offset_s: 41.2,
        samples: 15,
        updated_at: '2026-11-23T09:59:30Z',
        beyond_threshold: true,
      },
    ],
    rules: RULES,
    ...overrides,
  };
}

export function makeMachineQuality(
  overrides: Partial<MachineDataQuality> = {},
): MachineDataQuality {
  return {
    machine_id: 'pump-0001',
    start: '2026-11-22T10:00:00Z',
    end: '2026-11-23T10:00:00Z',
    counts: { physical_range: 4, gap: 2, duplicate: null, late: 1, clock_offset: 0 },
    gaps: [
      {
        machine_id: 'pump-0001',
        start: '2026-11-23T06:00:00Z',
        end: '2026-11-23T06:07:00Z',
        seconds: 420,
      },
      {
        machine_id: 'pump-0001',
        start: '2026-11-23T08:00:00Z',
        end: '2026-11-23T08:00:30Z',
        seconds: 30,
      },
    ],
    gap_count: 2,
    gap_seconds: 450,
    clock_offset: {
      machine_id: 'pump-0001',
      offset_s: 0.04,
      samples: 6,
      updated_at: '2026-11-23T09:59:30Z',
      beyond_threshold: false,
    },
    rules: RULES,
    ...overrides,
  };
}
