// Wire types of the alarm endpoints that the generated API types do not have yet (the backend is
// adding them: `POST /alarm-rules/preview` and `GET /alarms/reports`). Written from their
// contract; replace with aliases from api/types.ts once `make client` generates them.
import type { AlarmRuleIn } from '../../api/types';

export interface RulePreviewRequest {
  rule: AlarmRuleIn;
  /** 1 to 30 days of stored readings to replay the draft over. */
  days: number;
  machine_ids?: string[];
}

export interface PreviewEpisode {
  machine_id: string;
  raised_at: string;
  cleared_at: string | null;
  value: number;
}

export interface RulePreview {
  start?: string;
  end?: string;
  machines: number;
  readings: number;
  alarms: number;
  chattering: number;
  episodes: PreviewEpisode[];
  per_machine: Array<{ machine_id: string; alarms: number }>;
}

export interface FloodWindow {
  site: string | null;
  start: string;
  alarms: number;
  flood: boolean;
}

export interface AlarmReports {
  start: string;
  end: string;
  raised?: number;
  flood: {
    /** ISA-18.2: more than this many alarms in one window is a flood (10 per 10 minutes). */
    threshold: number;
    window_s: number;
    /** Windows with alarms, per site, in time order. */
    windows: FloodWindow[];
    flood_windows: number;
    percent_time_in_flood: number;
  };
  frequent: Array<{ machine_id: string; condition: string; count: number }>;
  chattering: Array<{
    machine_id: string;
    condition: string;
    activations: number;
    max_in_60s: number;
  }>;
}
