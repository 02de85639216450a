// The threshold-rule form as pure functions: its values (text as typed), the checks the backend
// makes (so most mistakes are shown before sending), the request body, and the backend's 422
// answer mapped back onto the fields it names.
import type {
  AlarmPriority,
  AlarmRule,
  AlarmRuleIn,
  AlarmRuleKind,
  ProblemDetails,
} from '../../api/types';

export type RuleScope = 'machine_type' | 'machine_id';

export interface RuleFormValues {
  name: string;
  scope: RuleScope;
  machineType: string;
  machineId: string;
  sensor: string;
  kind: AlarmRuleKind;
  threshold: string;
  deadband: string;
  onDelay: string;
  offDelay: string;
  priority: AlarmPriority;
  enabled: boolean;
}

/** A field of the form, `days` of the preview, or `form` for what belongs to none. */
export type RuleField = keyof RuleFormValues | 'days' | 'form';
export type RuleErrors = Partial<Record<RuleField, string>>;

export const EMPTY_RULE: RuleFormValues = {
  name: '',
  scope: 'machine_type',
  machineType: '',
  machineId: '',
  sensor: '',
  kind: 'hi',
  threshold: '',
  deadband: '0',
  onDelay: '0',
  offDelay: '0',
  priority: 'medium',
  enabled: true,
};

/** The backend's limits (contracts/limits.py and the rule schema). */
export const MAX_NAME = 128;
export const MAX_DELAY_S = 86_400;
export const MAX_PREVIEW_DAYS = 30;
const SENSOR = /^[a-z][a-z0-9_]{0,63}$/;
const MACHINE_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function fromRule(rule: AlarmRule): RuleFormValues {
  return {
    name: rule.name,
    scope: rule.machine_id ? 'machine_id' : 'machine_type',
    machineType: rule.machine_type ?? '',
    machineId: rule.machine_id ?? '',
    sensor: rule.sensor,
    kind: rule.kind,
    threshold: String(rule.threshold),
    deadband: String(rule.deadband),
    onDelay: String(rule.on_delay_s),
    offDelay: String(rule.off_delay_s),
    priority: rule.priority,
    enabled: rule.enabled,
  };
}

/** The rule's stored fields as a request body (for PUT of an unchanged rule, e.g. enable/disable). */
export function bodyOf(rule: AlarmRule): AlarmRuleIn {
  return {
    name: rule.name,
    ...(rule.machine_id ? { machine_id: rule.machine_id } : { machine_type: rule.machine_type }),
    sensor: rule.sensor,
    kind: rule.kind,
    threshold: rule.threshold,
    deadband: rule.deadband,
    on_delay_s: rule.on_delay_s,
    off_delay_s: rule.off_delay_s,
    priority: rule.priority,
    enabled: rule.enabled,
  };
}

/** A number typed in a field: null when empty or not a finite number. */
function parseNumber(text: string): number | null {
  if (text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

export interface Validated {
  body: AlarmRuleIn | null;
  errors: RuleErrors;
}

/** Checks the values as the backend would; `body` is null while any field is wrong. */
export function validateRule(values: RuleFormValues): Validated {
  const errors: RuleErrors = {};
  const name = values.name.trim();
  if (!name) errors.name = 'Give the rule a name.';
  else if (name.length > MAX_NAME) errors.name = `At most ${MAX_NAME} characters.`;

  const machineType = values.machineType.trim();
  const machineId = values.machineId.trim();
  if (values.scope === 'machine_type') {
    if (!machineType) errors.machineType = 'Choose a machine type.';
    else if (!MACHINE_TYPE.test(machineType)) errors.machineType = 'Not a machine type name.';
  } else if (!machineId) {
    errors.machineId = 'Give a machine id.';
  } else if (!MACHINE_ID.test(machineId)) {
    errors.machineId = 'Letters, digits and _ . : - only.';
  }

  const sensor = values.sensor.trim();
  if (!sensor) errors.sensor = 'Choose a sensor.';
  else if (!SENSOR.test(sensor))
    errors.sensor = 'Lower-case letters, digits and _ (e.g. temperature_c).';

  const threshold = parseNumber(values.threshold);
  if (threshold === null) errors.threshold = 'A number is needed.';
  const deadband = parseNumber(values.deadband);
  if (deadband === null || deadband < 0) errors.deadband = 'Zero or more.';
  const onDelay = parseNumber(values.onDelay);
  if (onDelay === null || onDelay < 0 || onDelay > MAX_DELAY_S) {
    errors.onDelay = `0 to ${MAX_DELAY_S.toLocaleString('en-US')} seconds.`;
  }
  const offDelay = parseNumber(values.offDelay);
  if (offDelay === null || offDelay < 0 || offDelay > MAX_DELAY_S) {
    errors.offDelay = `0 to ${MAX_DELAY_S.toLocaleString('en-US')} seconds.`;
  }
  if (Object.keys(errors).length > 0) return { body: null, errors };
  return {
    body: {
      name,
      ...(values.scope === 'machine_type'
        ? { machine_type: machineType }
        : { machine_id: machineId }),
      sensor,
      kind: values.kind,
      threshold: threshold ?? 0,
      deadband: deadband ?? 0,
      on_delay_s: onDelay ?? 0,
      off_delay_s: offDelay ?? 0,
      priority: values.priority,
      enabled: values.enabled,
    },
    errors,
  };
}

export function validateDays(text: string): string | null {
  const days = parseNumber(text);
  return days === null || days <= 0 || days > MAX_PREVIEW_DAYS
    ? `1 to ${MAX_PREVIEW_DAYS} days.`
    : null;
}

/** The body's field names as the form's. */
const FIELDS: Record<string, RuleField> = {
  name: 'name',
  machine_type: 'machineType',
  machine_id: 'machineId',
  sensor: 'sensor',
  kind: 'kind',
  threshold: 'threshold',
  deadband: 'deadband',
  on_delay_s: 'onDelay',
  off_delay_s: 'offDelay',
  priority: 'priority',
  enabled: 'enabled',
  days: 'days',
};

/** "Value error, give exactly one of …" → "Give exactly one of …". */
function cleanMessage(message: string): string {
  const text = message.replace(/^(Value error|Assertion failed),\s*/i, '');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * A 422 answer's failing fields (RFC 9457 `errors`: `loc` like ["body", "threshold"], or
 * ["body", "rule", "threshold"] for a preview) as messages per form field; what names no field
 * (the rule as a whole, e.g. "exactly one of machine_type and machine_id") goes to `form`, and so
 * does `detail` when the answer lists no errors.
 */
export function problemErrors(problem: ProblemDetails): RuleErrors {
  const errors: RuleErrors = {};
  const add = (field: RuleField, message: string) => {
    errors[field] = errors[field] ? `${errors[field]} ${message}` : message;
  };
  for (const entry of problem.errors ?? []) {
    const loc = Array.isArray(entry.loc) ? entry.loc.map(String) : [];
    const message = cleanMessage(typeof entry.msg === 'string' ? entry.msg : 'Invalid.');
    const path = loc[0] === 'body' ? loc.slice(1) : loc;
    const inRule = path[0] === 'rule' ? path.slice(1) : path;
    const field = inRule.find((part) => part in FIELDS);
    add(field ? (FIELDS[field] ?? 'form') : 'form', message);
  }
  if (Object.keys(errors).length === 0) add('form', problem.detail ?? problem.title);
  return errors;
}
