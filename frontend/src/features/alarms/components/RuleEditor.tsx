// Creates or edits a threshold rule (admins). Checked here as the backend would, and the backend's
// 422 answer shown next to the fields it names; an edit is sent with If-Match on the version it
// started from (412: someone else saved first; reload that version). Preview replays the draft
// over stored readings and shows the alarms, episodes and chattering it would have caused.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../../../api/client';
import type { AlarmRule, MachineType } from '../../../api/types';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { KIND_LABELS, PRIORITIES } from '../../../lib/alarms';
import { formatMachineType } from '../../../lib/format';
import { usePreviewRule, useSaveRule } from '../api';
import {
  EMPTY_RULE,
  fromRule,
  MAX_PREVIEW_DAYS,
  problemErrors,
  validateDays,
  validateRule,
  type RuleErrors,
  type RuleField,
  type RuleFormValues,
} from '../ruleForm';
import { RulePreviewView } from './RulePreviewView';

interface RuleEditorProps {
  /** The rule being edited, or null for a new one. */
  rule: AlarmRule | null;
  /** The newest copy of that rule the list holds (to reload after a 412). */
  latest: AlarmRule | null;
  machineTypes: readonly MachineType[];
  onDone: (saved: AlarmRule | null) => void;
}

function Field({
  label,
  error,
  children,
  id,
}: {
  label: string;
  error: string | undefined;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => ReactNode;
  id: string;
}) {
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label className="field__label" htmlFor={id}>
        {label}
      </label>
      {children({
        id,
        'aria-invalid': Boolean(error),
        'aria-describedby': error ? errorId : undefined,
      })}
      {error ? (
        <span className="field__error" id={errorId}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

export function RuleEditor({ rule, latest, machineTypes, onDone }: RuleEditorProps) {
  const [values, setValues] = useState<RuleFormValues>(() => (rule ? fromRule(rule) : EMPTY_RULE));
  /** The version the edit started from: sent as If-Match. */
  const [baseVersion, setBaseVersion] = useState(rule?.version ?? 0);
  const [errors, setErrors] = useState<RuleErrors>({});
  const [days, setDays] = useState('7');
  const [previewDays, setPreviewDays] = useState(7);
  const save = useSaveRule();
  const preview = usePreviewRule();
  const idPrefix = useId();
  const id = (field: RuleField) => `${idPrefix}-${field}`;

  const set = <K extends keyof RuleFormValues>(key: K, value: RuleFormValues[K]) => {
    setValues((current) => ({ ...current, [key]: value }));
    setErrors((current) => {
      if (!current[key] && !current.form) return current;
      const { [key]: _gone, form: _form, ...rest } = current;
      return rest;
    });
  };

  const type = machineTypes.find((t) => t.name === values.machineType);
  const sensorOptions = type
    ? type.sensors.map((s) => s.name)
    : [...new Set(machineTypes.flatMap((t) => t.sensors.map((s) => s.name)))].sort();
  const range = type?.sensors.find((s) => s.name === values.sensor);
  const conflict = save.error instanceof ApiError && save.error.status === 412;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = validateRule(values);
    setErrors(found);
    if (!body) return;
    save.mutate(
      rule
        ? { kind: 'replace', id: rule.id, version: baseVersion, body }
        : { kind: 'create', body },
      {
        onSuccess: (saved) => onDone(saved),
        onError: (error) => {
          if (error instanceof ApiError && error.status === 422)
            setErrors(problemErrors(error.problem));
        },
      },
    );
  };

  const runPreview = () => {
    const { body, errors: found } = validateRule(values);
    const daysError = validateDays(days);
    setErrors(daysError ? { ...found, days: daysError } : found);
    if (!body || daysError) return;
    const span = Number(days);
    preview.mutate(
      { rule: body, days: span },
      {
        onSuccess: () => setPreviewDays(span),
        onError: (error) => {
          if (!(error instanceof ApiError) || error.status !== 422) return;
          // Fields the answer names go next to them; the rest (too many readings) shows below.
          const { form: _rest, ...fields } = problemErrors(error.problem);
          if (Object.keys(fields).length > 0) setErrors((current) => ({ ...current, ...fields }));
        },
      },
    );
  };

  const reload = () => {
    if (!latest) return;
    setValues(fromRule(latest));
    setBaseVersion(latest.version);
    setErrors({});
    save.reset();
  };

  const title = rule ? `Edit rule “${rule.name}”` : 'New threshold rule';
  const saveError = save.isError && !(save.error instanceof ApiError && save.error.status === 422);
  return (
    <form className="rule-editor" aria-label={title} onSubmit={submit} noValidate>
      <h3>
        {title}
        {rule ? <span className="muted"> — based on version {baseVersion}</span> : null}
      </h3>
      <div className="rule-editor__grid">
        <Field label="Name" id={id('name')} error={errors.name}>
          {(p) => (
            <input
              {...p}
              className="input"
              maxLength={200}
              value={values.name}
              onChange={(e) => set('name', e.target.value)}
            />
          )}
        </Field>
        <fieldset className="checks rule-editor__scope">
          <legend className="field__label">Applies to</legend>
          <label className="check">
            <input
              type="radio"
              name={id('scope')}
              checked={values.scope === 'machine_type'}
              onChange={() => set('scope', 'machine_type')}
            />
            every machine of a type
          </label>
          <label className="check">
            <input
              type="radio"
              name={id('scope')}
              checked={values.scope === 'machine_id'}
              onChange={() => set('scope', 'machine_id')}
            />
            one machine
          </label>
        </fieldset>
        {values.scope === 'machine_type' ? (
          <Field label="Machine type" id={id('machineType')} error={errors.machineType}>
            {(p) => (
              <select
                {...p}
                className="input"
                value={values.machineType}
                onChange={(e) => set('machineType', e.target.value)}
              >
                <option value="">Choose…</option>
                {machineTypes.map((t) => (
                  <option key={t.name} value={t.name}>
                    {formatMachineType(t.name)}
                  </option>
                ))}
                {values.machineType && !type ? (
                  <option value={values.machineType}>{values.machineType}</option>
                ) : null}
              </select>
            )}
          </Field>
        ) : (
          <Field label="Machine id" id={id('machineId')} error={errors.machineId}>
            {(p) => (
              <input
                {...p}
                className="input"
                value={values.machineId}
                placeholder="pump-0001"
                onChange={(e) => set('machineId', e.target.value)}
              />
            )}
          </Field>
        )}
        <Field label="Sensor" id={id('sensor')} error={errors.sensor}>
          {(p) => (
            <>
              <input
                {...p}
                className="input"
                list={`${idPrefix}-sensors`}
                value={values.sensor}
                placeholder="temperature_c"
                onChange={(e) => set('sensor', e.target.value)}
              />
              <datalist id={`${idPrefix}-sensors`}>
                {sensorOptions.map((s) => (
                  <option key={s} value={s} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Kind" id={id('kind')} error={errors.kind}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={values.kind}
              onChange={(e) => set('kind', e.target.value as RuleFormValues['kind'])}
            >
              {Object.entries(KIND_LABELS).map(([kind, label]) => (
                <option key={kind} value={kind}>
                  {kind} ({label})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Threshold" id={id('threshold')} error={errors.threshold}>
          {(p) => (
            <input
              {...p}
              className="input"
              inputMode="decimal"
              value={values.threshold}
              placeholder={range ? `range ${range.lo} – ${range.hi}` : undefined}
              onChange={(e) => set('threshold', e.target.value)}
            />
          )}
        </Field>
        <Field label="Deadband" id={id('deadband')} error={errors.deadband}>
          {(p) => (
            <input
              {...p}
              className="input"
              inputMode="decimal"
              value={values.deadband}
              onChange={(e) => set('deadband', e.target.value)}
            />
          )}
        </Field>
        <Field label="On delay (s)" id={id('onDelay')} error={errors.onDelay}>
          {(p) => (
            <input
              {...p}
              className="input"
              inputMode="decimal"
              value={values.onDelay}
              onChange={(e) => set('onDelay', e.target.value)}
            />
          )}
        </Field>
        <Field label="Off delay (s)" id={id('offDelay')} error={errors.offDelay}>
          {(p) => (
            <input
              {...p}
              className="input"
              inputMode="decimal"
              value={values.offDelay}
              onChange={(e) => set('offDelay', e.target.value)}
            />
          )}
        </Field>
        <Field label="Priority" id={id('priority')} error={errors.priority}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={values.priority}
              onChange={(e) => set('priority', e.target.value as RuleFormValues['priority'])}
            >
              {PRIORITIES.map((priority) => (
                <option key={priority} value={priority}>
                  {priority}
                </option>
              ))}
            </select>
          )}
        </Field>
        <label className="check check--toggle">
          <input
            type="checkbox"
            checked={values.enabled}
            onChange={(e) => set('enabled', e.target.checked)}
          />
          Enabled
        </label>
      </div>
      {range ? (
        <p className="muted">
          Operating range of {values.sensor} on a {formatMachineType(values.machineType)}:{' '}
          {range.lo} – {range.hi} {range.unit ?? ''}
        </p>
      ) : null}
      {errors.form ? (
        <p className="notice notice--error" role="alert">
          {errors.form}
        </p>
      ) : null}
      {save.isError && save.error instanceof ApiError && save.error.status === 422 ? (
        <p className="notice notice--error" role="alert">
          The rule was not saved: see the fields marked.
        </p>
      ) : null}
      {saveError ? (
        <ErrorNotice
          error={save.error}
          context={conflict ? 'Conflict' : 'Could not save the rule'}
        />
      ) : null}
      <div className="editor__actions">
        <button type="submit" className="button" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : rule ? 'Save changes' : 'Create rule'}
        </button>
        {conflict && latest && latest.version !== baseVersion ? (
          <button type="button" className="button button--quiet" onClick={reload}>
            Load version {latest.version}
          </button>
        ) : null}
        <button type="button" className="button button--quiet" onClick={() => onDone(null)}>
          Cancel
        </button>
        <span className="rule-editor__preview">
          <Field label="Days" id={id('days')} error={errors.days}>
            {(p) => (
              <input
                {...p}
                className="input input--narrow"
                inputMode="numeric"
                value={days}
                onChange={(e) => {
                  setDays(e.target.value);
                  setErrors(({ days: _gone, ...rest }) => rest);
                }}
                title={`1 to ${MAX_PREVIEW_DAYS} days of history`}
              />
            )}
          </Field>
          <button
            type="button"
            className="button button--quiet"
            disabled={preview.isPending}
            onClick={runPreview}
          >
            {preview.isPending ? 'Previewing…' : 'Preview'}
          </button>
        </span>
      </div>
      {preview.isError ? (
        <ErrorNotice error={preview.error} context="Could not preview the rule" />
      ) : null}
      {preview.isSuccess && !preview.isPending ? (
        <RulePreviewView preview={preview.data} days={previewDays} />
      ) : null}
    </form>
  );
}
