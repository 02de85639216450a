// Data quality (cleansing) as the dashboard shows it: the windows offered, the rules in display order
// with what each counts, and the query parameters of a window. Shared by the fleet's data-quality view
// and the machine's data-quality tab. Data quality is about the data, not the machine: see
// docs/data-quality.md.
import type { DataQualityRules, RuleCounts } from '../api/types';

export interface QualityWindow {
  key: string;
  label: string;
  spanMs: number;
}

const DAY = 86_400_000;

export const QUALITY_WINDOWS: readonly QualityWindow[] = [
  { key: '24h', label: '24 h', spanMs: DAY },
  { key: '7d', label: '7 d', spanMs: 7 * DAY },
  { key: '30d', label: '30 d', spanMs: 30 * DAY },
];

export function findQualityWindow(key: string | null): QualityWindow {
  return QUALITY_WINDOWS.find((w) => w.key === key) ?? (QUALITY_WINDOWS[0] as QualityWindow);
}

/** `from` of a window ending now (the API's `to` defaults to now). */
export function windowFrom(window: QualityWindow, now = Date.now()): string {
  return new Date(now - window.spanMs).toISOString();
}

export type Rule = keyof RuleCounts;

export interface RuleInfo {
  rule: Rule;
  label: string;
  /** What one count is. */
  unit: string;
}

/** The rules in the order they are shown. */
export const RULES: readonly RuleInfo[] = [
  { rule: 'physical_range', label: 'Physical range', unit: 'readings' },
  { rule: 'gap', label: 'Gaps', unit: 'gap events' },
  { rule: 'duplicate', label: 'Duplicates', unit: 'readings' },
  { rule: 'late', label: 'Late', unit: 'messages' },
  { rule: 'clock_offset', label: 'Clock offset', unit: 'messages' },
];

/** A rule's count; null where the API does not count it (duplicates of one machine). */
export function ruleCount(counts: RuleCounts, rule: Rule): number | null {
  return counts[rule];
}

/** What each rule means with the settings in force, for the rules' table. */
export function ruleDescription(rule: Rule, rules: DataQualityRules): string {
  switch (rule) {
    case 'physical_range':
      return 'outside the sensor’s physical range: stored as bad, not scored';
    case 'gap':
      return `no message for over ${rules.gap_factor}× the usual interval (at least ${rules.gap_floor_s} s)`;
    case 'duplicate':
      return 'sent twice or redelivered; counted for the fleet only';
    case 'late':
      return `older than the machine’s newest message by over ${rules.lateness_s} s`;
    case 'clock_offset':
      return `from a device whose clock is off by over ${rules.clock_offset_threshold_s} s${rules.clock_correction ? ' (corrected)' : ''}`;
  }
}

/** "+41.2 s (device clock behind)" for a clock-offset estimate (receive time − device time). */
export function formatOffset(offsetS: number): string {
  const magnitude = Math.abs(offsetS);
  const text = magnitude >= 10 ? magnitude.toFixed(1) : magnitude.toFixed(2);
  // Below what is shown, the clock is neither ahead nor behind.
  if (Number(text) === 0) return '0.00 s';
  return offsetS > 0 ? `+${text} s (device clock behind)` : `−${text} s (device clock ahead)`;
}
