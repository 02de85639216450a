// Sample alarms, stream changes, summaries and rules shaped like the backend's alarm contract.
import type { Alarm, AlarmRule, AlarmSummary } from '../api/types';
import type { AlarmChange } from '../realtime/messages';

export function makeAlarm(overrides: Partial<Alarm> = {}): Alarm {
  return {
    id: 1,
    machine_id: 'pump-0001',
    condition: 'hi:temperature_c',
    source: 'threshold',
    rule_id: 3,
    priority: 'high',
    state: 'unack_active',
    machine_type: 'centrifugal_pump',
    site: 'site-1',
    line: 'line-1',
    message: 'temperature_c 82.1 above hi 80 (pump-0001)',
    value: 82.1,
    details: {},
    shelved_until: null,
    suppressed: false,
    out_of_service: false,
    raised_at: '2026-11-23T09:58:00Z',
    acked_at: null,
    acked_by: null,
    cleared_at: null,
    closed_at: null,
    updated_at: '2026-11-23T09:58:00Z',
    seq: 1,
    ...overrides,
  };
}

/** The stream's copy of `alarm` after `transition` (what the `alarms` stream's updates carry). */
export function alarmChange(
  alarm: Alarm,
  transition: string,
  overrides: Partial<AlarmChange> = {},
): AlarmChange {
  return {
    id: alarm.id,
    machine_id: alarm.machine_id,
    condition: alarm.condition,
    source: alarm.source,
    priority: alarm.priority,
    state: alarm.state,
    transition,
    seq: alarm.seq,
    message: alarm.message,
    raised_at: alarm.raised_at,
    updated_at: alarm.updated_at,
    machine_type: alarm.machine_type,
    site: alarm.site,
    line: alarm.line,
    value: alarm.value,
    acked_by: alarm.acked_by,
    shelved_until: alarm.shelved_until,
    suppressed: alarm.suppressed,
    out_of_service: alarm.out_of_service,
    ...overrides,
  };
}

export function makeSummary(overrides: Partial<AlarmSummary> = {}): AlarmSummary {
  return {
    unacknowledged: 0,
    active: 0,
    shelved: 0,
    suppressed: 0,
    by_priority: { critical: 0, high: 0, medium: 0, low: 0 },
    ...overrides,
  };
}

export function makeRule(overrides: Partial<AlarmRule> = {}): AlarmRule {
  return {
    id: 3,
    name: 'pump hot',
    machine_type: 'centrifugal_pump',
    machine_id: null,
    sensor: 'temperature_c',
    kind: 'hi',
    threshold: 80,
    deadband: 1,
    on_delay_s: 5,
    off_delay_s: 10,
    priority: 'high',
    enabled: true,
    version: 4,
    created_at: '2026-11-20T08:00:00Z',
    updated_at: '2026-11-22T08:00:00Z',
    updated_by: 'user:admin',
    ...overrides,
  };
}
