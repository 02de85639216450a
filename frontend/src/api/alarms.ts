// Alarm queries used by more than one view (the alarms page and the machine view): query keys,
// one machine's alarms, and one alarm with its history. Actions and rules live in features/alarms.
import { queryOptions } from '@tanstack/react-query';
import { getJson } from './client';
import type { AlarmDetail, AlarmList } from './types';

export const ALARMS_BASE = '/api/v1/alarms';

/** Every alarm query starts with `alarms`, so one invalidation refreshes them all after an action. */
export const alarmKeys = {
  all: ['alarms'] as const,
  list: (params: unknown) => ['alarms', 'list', params] as const,
  summary: ['alarms', 'summary'] as const,
  machine: (machineId: string) => ['alarms', 'machine', machineId] as const,
  /** The seq is part of the key: a new transition of the alarm fetches its history again. */
  detail: (id: number, seq: number) => ['alarms', 'detail', id, seq] as const,
  reports: (params: unknown) => ['alarms', 'reports', params] as const,
};

/** The newest alarms of one machine, open and closed (its history panel and chart markers). */
export const machineAlarmsQuery = (machineId: string, limit = 100) =>
  queryOptions({
    queryKey: alarmKeys.machine(machineId),
    queryFn: ({ signal }) =>
      getJson<AlarmList>(ALARMS_BASE, { machine_id: machineId, limit }, signal),
  });

/** One alarm with every transition (who, when, comment). */
export const alarmDetailQuery = (id: number, seq: number) =>
  queryOptions({
    queryKey: alarmKeys.detail(id, seq),
    queryFn: ({ signal }) => getJson<AlarmDetail>(`${ALARMS_BASE}/${id}`, undefined, signal),
    staleTime: 60_000,
  });
