// Wire types of the rule preview (`POST /alarm-rules/preview`) and the alarm reports (`GET /alarms/reports`),
// from the generated API types.
import type { components } from '../../api/schema';

type Schemas = components['schemas'];

export type RulePreviewRequest = Schemas['RulePreviewIn'];
export type PreviewEpisode = Schemas['PreviewEpisode'];
export type RulePreview = Schemas['RulePreview'];
export type FloodWindow = Schemas['FloodWindow'];
export type AlarmReports = Schemas['AlarmReports'];
