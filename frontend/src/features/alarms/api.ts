// The alarm endpoints: the list (paged), the operator's actions, the threshold rules (If-Match on
// their version), a rule's preview over stored history, and the alarm-management reports.
import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from '@tanstack/react-query';
import { alarmKeys, ALARMS_BASE } from '../../api/alarms';
import { deleteResource, getJson, sendJson } from '../../api/client';
import type {
  Alarm,
  AlarmList,
  AlarmRule,
  AlarmRuleIn,
  AlarmRuleList,
  BulkAckResult,
  MachineTypeList,
} from '../../api/types';
import { listParams, type AlarmFilter } from './alarmsStore';
import type { AlarmReports, RulePreview, RulePreviewRequest } from './types';

export const PAGE_SIZE = 200;
const RULES = '/api/v1/alarm-rules';

/** The alarms matching a filter, newest first, a page at a time (`next_cursor` for older ones). */
export function useAlarmList(filter: AlarmFilter, pollMs: number | false) {
  const params = listParams(filter, PAGE_SIZE);
  return useInfiniteQuery<
    AlarmList,
    Error,
    InfiniteData<AlarmList, number | null>,
    readonly unknown[],
    number | null
  >({
    queryKey: alarmKeys.list(params),
    queryFn: ({ signal, pageParam }) =>
      getJson<AlarmList>(ALARMS_BASE, { ...params, cursor: pageParam ?? undefined }, signal),
    initialPageParam: null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    refetchInterval: pollMs,
    placeholderData: (previous) => previous,
  });
}

export type AlarmAction =
  | { kind: 'ack'; id: number; comment?: string }
  | { kind: 'shelve'; id: number; duration_s: number; reason: string }
  | { kind: 'unshelve'; id: number; comment?: string }
  | { kind: 'comment'; id: number; comment: string };

function actionRequest(action: AlarmAction): [string, Record<string, unknown>] {
  const path = `${ALARMS_BASE}/${action.id}/${action.kind}`;
  switch (action.kind) {
    case 'ack':
    case 'unshelve':
      return [path, action.comment ? { comment: action.comment } : {}];
    case 'shelve':
      return [path, { duration_s: action.duration_s, reason: action.reason }];
    case 'comment':
      return [path, { comment: action.comment }];
  }
}

/** One alarm's action; the answer is the alarm as it is after it. */
export function useAlarmAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: AlarmAction) => {
      const [path, body] = actionRequest(action);
      return sendJson<Alarm>('POST', path, body);
    },
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: alarmKeys.all }),
  });
}

export function useBulkAck() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ ids, comment }: { ids: number[]; comment?: string }) =>
      sendJson<BulkAckResult>('POST', `${ALARMS_BASE}/ack`, comment ? { ids, comment } : { ids }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: alarmKeys.all }),
  });
}

// --------------------------------------------------------------------------- threshold rules
export const rulesKey = ['alarm-rules'] as const;

export function useRules() {
  return useQuery({
    queryKey: rulesKey,
    queryFn: ({ signal }) => getJson<AlarmRuleList>(RULES, undefined, signal),
  });
}

/** Machine types with their sensors, for the rule form's menus. */
export function useMachineTypes() {
  return useQuery({
    queryKey: ['machine-types'] as const,
    queryFn: ({ signal }) =>
      getJson<MachineTypeList>('/api/v1/machine-types', { limit: 500 }, signal),
    staleTime: 60_000,
  });
}

export type RuleSave =
  | { kind: 'create'; body: AlarmRuleIn }
  | { kind: 'replace'; id: number; version: number; body: AlarmRuleIn };

export function useSaveRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (save: RuleSave) =>
      save.kind === 'create'
        ? (await sendJson<AlarmRule>('POST', RULES, save.body)).data
        : (
            await sendJson<AlarmRule>('PUT', `${RULES}/${save.id}`, save.body, {
              headers: { 'If-Match': `"${save.version}"` },
            })
          ).data,
    onSettled: () => void queryClient.invalidateQueries({ queryKey: rulesKey }),
  });
}

export function useDeleteRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (rule: Pick<AlarmRule, 'id' | 'version'>) =>
      deleteResource(`${RULES}/${rule.id}`, { headers: { 'If-Match': `"${rule.version}"` } }),
    onSettled: () => void queryClient.invalidateQueries({ queryKey: rulesKey }),
  });
}

/** Replays a draft rule over stored readings; nothing is saved. */
export function usePreviewRule() {
  return useMutation({
    mutationFn: async (request: RulePreviewRequest) =>
      (await sendJson<RulePreview>('POST', `${RULES}/preview`, request)).data,
  });
}

// --------------------------------------------------------------------------------- reports
export function useAlarmReports(hours: number, site: string) {
  const params = { hours, site: site || undefined };
  return useQuery({
    queryKey: alarmKeys.reports(params),
    queryFn: ({ signal }) => getJson<AlarmReports>(`${ALARMS_BASE}/reports`, params, signal),
    refetchInterval: 60_000,
  });
}
