// The report endpoints for the Reports page (docs/api.md "Reports"): definitions with their next run
// and the newest runs, creating a definition, running one now (the answer waits for the run), and
// a run's files fetched with the session's token (no plain links: the token lives in memory).
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getBlob, getJson, sendJson } from '../../api/client';
import type {
  ReportDefinition,
  ReportDefinitionIn,
  ReportList,
  ReportRun,
  ReportRunRequest,
} from '../../api/types';

export const REPORTS_BASE = '/api/v1/reports';
export const RUNS_SHOWN = 50;
const POLL_MS = 30_000;

export const reportKeys = {
  all: ['reports'] as const,
  list: (runs: number) => ['reports', 'list', runs] as const,
};

export type ReportFormat = 'pdf' | 'csv';

export function runFilePath(runId: number, format: ReportFormat): string {
  return `${REPORTS_BASE}/runs/${runId}.${format}`;
}

export function useReports() {
  return useQuery({
    queryKey: reportKeys.list(RUNS_SHOWN),
    queryFn: ({ signal }) => getJson<ReportList>(REPORTS_BASE, { runs: RUNS_SHOWN }, signal),
    refetchInterval: POLL_MS,
  });
}

export function useRunReport() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (request: ReportRunRequest) =>
      (await sendJson<ReportRun>('POST', `${REPORTS_BASE}/run`, request)).data,
    onSettled: () => void queryClient.invalidateQueries({ queryKey: reportKeys.all }),
  });
}

export function useCreateDefinition() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: ReportDefinitionIn) =>
      (await sendJson<ReportDefinition>('POST', `${REPORTS_BASE}/definitions`, body)).data,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: reportKeys.all }),
  });
}

/** A run's PDF as a Blob, for the preview (cached: a run's files never change). */
export function useRunPdf(runId: number | null) {
  return useQuery({
    queryKey: ['reports', 'pdf', runId] as const,
    queryFn: ({ signal }) => getBlob(runFilePath(runId ?? 0, 'pdf'), signal),
    enabled: runId !== null,
    staleTime: Infinity,
    gcTime: 60_000,
  });
}

/** Fetches a run's file and hands it to the browser as a download named `report-<id>.<format>`. */
export async function downloadRunFile(runId: number, format: ReportFormat): Promise<void> {
  const blob = await getBlob(runFilePath(runId, format));
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = `report-${runId}.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
  } finally {
    // After the click has handed the URL to the download.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}
