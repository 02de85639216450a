// The new-definition form: its values, the request body they make, and a 422's failing fields
// (`loc` like ["body", "schedule"]) as messages per field.
import type { ProblemDetails, ReportDefinitionIn } from '../../api/types';

export interface DefinitionValues {
  name: string;
  kind: ReportDefinitionIn['kind'];
  scope: ReportDefinitionIn['scope'];
  site: string;
  period: ReportDefinitionIn['period'];
  schedule: string;
  recipients: string;
  enabled: boolean;
}

export type DefinitionField = keyof DefinitionValues | 'form';
export type DefinitionErrors = Partial<Record<DefinitionField, string>>;

export const EMPTY_DEFINITION: DefinitionValues = {
  name: '',
  kind: 'maintenance',
  scope: 'fleet',
  site: '',
  period: 'last_day',
  schedule: '0 6 * * *',
  recipients: '',
  enabled: true,
};

export const KINDS: ReadonlyArray<readonly [ReportDefinitionIn['kind'], string]> = [
  ['maintenance', 'Maintenance'],
  ['data_quality', 'Data quality'],
  ['energy', 'Energy'],
];

export const PERIODS: ReadonlyArray<readonly [ReportDefinitionIn['period'], string]> = [
  ['last_day', 'Last day'],
  ['last_week', 'Last week'],
  ['last_month', 'Last month'],
];

export function kindLabel(kind: string): string {
  return KINDS.find(([k]) => k === kind)?.[1] ?? kind.replaceAll('_', ' ');
}

export function periodLabel(period: string): string {
  return PERIODS.find(([p]) => p === period)?.[1] ?? period.replaceAll('_', ' ');
}

/** The body to POST, or the fields to fix first (what the browser can tell without the backend). */
export function definitionBody(values: DefinitionValues): {
  body: ReportDefinitionIn | null;
  errors: DefinitionErrors;
} {
  const errors: DefinitionErrors = {};
  const name = values.name.trim();
  if (!name) errors.name = 'Give the report a name.';
  const site = values.site.trim();
  if (values.scope === 'site' && !site) errors.site = 'Name the site.';
  const recipients = values.recipients
    .split(/[\s,;]+/)
    .map((r) => r.trim())
    .filter(Boolean);
  if (Object.keys(errors).length > 0) return { body: null, errors };
  const schedule = values.schedule.trim();
  return {
    body: {
      name,
      kind: values.kind,
      scope: values.scope,
      site: values.scope === 'site' ? site : null,
      period: values.period,
      schedule: schedule || null,
      recipients,
      formats: ['pdf', 'csv'],
      enabled: values.enabled,
    },
    errors,
  };
}

const FIELDS = new Set<string>([
  'name',
  'kind',
  'scope',
  'site',
  'period',
  'schedule',
  'recipients',
  'enabled',
]);

/** A 422's messages per field; what names no field (or a 409's detail) goes to `form`. */
export function problemFieldErrors(problem: ProblemDetails): DefinitionErrors {
  const errors: DefinitionErrors = {};
  const add = (field: DefinitionField, message: string) => {
    errors[field] = errors[field] ? `${errors[field]} ${message}` : message;
  };
  for (const entry of problem.errors ?? []) {
    const loc = Array.isArray(entry.loc) ? entry.loc.map(String) : [];
    const message = (typeof entry.msg === 'string' ? entry.msg : 'Invalid.').replace(
      /^Value error,\s*/i,
      '',
    );
    const field = loc.find((part) => FIELDS.has(part)) as DefinitionField | undefined;
    add(field ?? 'form', message);
  }
  if (Object.keys(errors).length === 0) add('form', problem.detail ?? problem.title);
  return errors;
}
