// Report answers for component tests: two definitions (one scheduled) and their newest runs.
import type { ReportDefinition, ReportList, ReportRun } from '../api/types';

export function makeDefinition(overrides: Partial<ReportDefinition> = {}): ReportDefinition {
  return {
    id: 1,
    name: 'plant-a daily',
    kind: 'maintenance',
    scope: 'site',
    site: 'plant-a',
    period: 'last_day',
    schedule: '0 6 * * *',
    next_run_at: '2026-12-07T05:00:00Z',
    recipients: ['maintenance@example.com'],
    formats: ['pdf', 'csv'],
    enabled: true,
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    updated_by: 'admin',
    ...overrides,
  };
}

export function makeRun(overrides: Partial<ReportRun> = {}): ReportRun {
  return {
    id: 7,
    definition_id: 1,
    kind: 'maintenance',
    status: 'succeeded',
    trigger: 'schedule',
    created_at: '2026-12-06T05:00:02Z',
    finished_at: '2026-12-06T05:00:04Z',
    scheduled_for: '2026-12-06T05:00:00Z',
    period_start: '2026-12-04T23:00:00Z',
    period_end: '2026-12-05T23:00:00Z',
    has_data: true,
    error: null,
    email_error: null,
    emailed_to: ['maintenance@example.com'],
    formats: ['pdf', 'csv'],
    spec: { name: 'plant-a daily', kind: 'maintenance' },
    summary: { machines: 12 },
    ...overrides,
  };
}

export function makeReportList(overrides: Partial<ReportList> = {}): ReportList {
  return {
    definitions: [
      makeDefinition(),
      makeDefinition({
        id: 2,
        name: 'fleet data quality',
        kind: 'data_quality',
        scope: 'fleet',
        site: null,
        period: 'last_week',
        schedule: null,
        next_run_at: null,
      }),
    ],
    runs: [
      makeRun(),
      makeRun({
        id: 6,
        definition_id: null,
        kind: 'data_quality',
        status: 'failed',
        trigger: 'api',
        error: 'renderer crashed',
        formats: [],
        emailed_to: [],
        spec: { name: 'ad hoc', kind: 'data_quality' },
      }),
    ],
    ...overrides,
  };
}
