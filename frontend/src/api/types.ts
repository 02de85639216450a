// Wire types of the backend HTTP API: aliases of the types generated from its OpenAPI document
// (`make client` writes src/api/openapi.json and src/api/schema.d.ts; never edit those by hand).
import type { components } from './schema';

type Schemas = components['schemas'];

export type Twin = Schemas['TwinRead'];
export type TwinList = Schemas['TwinList'];
export type TwinStatus = Twin['status'];
// Fleet aggregations (issue #23): twins grouped by placement, type, status or a property, with aggregates.
export type TwinAggregate = Schemas['TwinAggregate'];
export type AggregateGroup = Schemas['AggregateGroup'];
export type Quality = Twin['quality'];
export type CommandStatus = Schemas['CommandStatus'];
export type DesiredState = Schemas['DesiredState'];
// What-if before you command (issue #23): the dry run of a desired-state patch.
export type DryRun = Schemas['DryRun'];
export type SensorPrediction = Schemas['SensorPrediction'];
export type Reading = Schemas['ReadingRead'];
export type ReadingList = Schemas['ReadingList'];
export type History = Schemas['History'];
export type HistoryPoint = Schemas['HistoryPoint'];
export type Series = Schemas['Series'];
export type SeriesPoints = Schemas['SeriesPoints'];
export type HealthRead = Schemas['HealthRead'];
export type AnomalyEvent = Schemas['AnomalyEventRead'];
export type AnomalyList = Schemas['AnomalyList'];
export type Decision = Schemas['DecisionRead'];
export type DecisionList = Schemas['DecisionList'];
export type Correlations = Schemas['CorrelationsRead'];
export type ProblemDetails = Schemas['ProblemDetails'];
export type MachineType = Schemas['MachineTypeRead'];
export type Identity = Schemas['IdentityRead'];
export type Role = Schemas['Role'];
export type TokenPair = Schemas['TokenPair'];

/** Latest values per sensor; the unit is the name's suffix (`temperature_c`, `flow_m3_h`). */
export type Readings = Twin['readings'];

// Alarms (ISA-18.2): alarms with their history, the badge's counts, threshold rules.
export type Alarm = Schemas['AlarmRead'];
export type AlarmList = Schemas['AlarmList'];
export type AlarmDetail = Schemas['AlarmDetail'];
export type AlarmEvent = Schemas['AlarmEventRead'];
export type AlarmSummary = Schemas['AlarmSummary'];
export type AlarmState = Alarm['state'];
export type AlarmPriority = Alarm['priority'];
export type AlarmRule = Schemas['AlarmRuleRead'];
export type AlarmRuleIn = Schemas['AlarmRuleIn'];
export type AlarmRuleList = Schemas['AlarmRuleList'];
export type AlarmRuleKind = AlarmRuleIn['kind'];
export type BulkAckResult = Schemas['BulkAckResult'];
export type MachineTypeList = Schemas['MachineTypeList'];

// Data quality (cleansing): counts per rule, gaps, clock offsets; the archived part of a history answer.
export type DataQualitySummary = Schemas['DataQualitySummary'];
export type MachineDataQuality = Schemas['MachineDataQuality'];
export type RuleCounts = Schemas['RuleCounts'];
export type DataQualityRules = Schemas['DataQualityRules'];
export type DataGap = Schemas['DataGapRead'];
export type ClockOffset = Schemas['ClockOffsetRead'];
export type MachineIssues = Schemas['MachineIssues'];
export type ArchiveRead = Schemas['ArchiveRead'];

// Energy (issue #19): consumption and cost per bucket, monthly peak demand, the hour × weekday heatmap, tariffs.
export type Consumption = Schemas['ConsumptionRead'];
export type ConsumptionBucket = Schemas['ConsumptionBucket'];
export type CounterFlags = Schemas['CounterFlags'];
export type PeakList = Schemas['PeakList'];
export type MonthPeak = Schemas['MonthPeak'];
export type EnergyHeatmap = Schemas['Heatmap'];
export type TariffList = Schemas['TariffList'];

// Forecasts (issue #19): a sensor's next minutes, a meter's next hours, each point with its interval.
export type ForecastPoint = Schemas['ForecastPoint'];
export type SensorForecast = Schemas['ForecastRead'];
export type EnergyForecast = Schemas['EnergyForecastRead'];

// Reports: definitions (cron schedule), runs with their PDF/CSV files.
export type ReportList = Schemas['ReportList'];
export type ReportDefinition = Schemas['ReportDefinitionRead'];
export type ReportDefinitionIn = Schemas['ReportDefinitionIn'];
export type ReportRun = Schemas['ReportRunRead'];
export type ReportRunRequest = Schemas['RunRequest'];
