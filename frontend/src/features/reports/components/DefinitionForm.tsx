// A new report definition (admins): name, kind, fleet or one site, period, a cron schedule read in
// the plant's time zone (empty: on demand only), recipients. The backend's 422 names a failing field
// (an unparsable `schedule`, a taken name is a 409): each message is shown next to its field.
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { ApiError } from '../../../api/client';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useCreateDefinition } from '../api';
import {
  type DefinitionErrors,
  type DefinitionValues,
  definitionBody,
  EMPTY_DEFINITION,
  KINDS,
  PERIODS,
  problemFieldErrors,
} from '../definitionForm';

function Field({
  label,
  id,
  error,
  hint,
  children,
}: {
  label: string;
  id: string;
  error: string | undefined;
  hint?: string;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => ReactNode;
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
      {hint ? <span className="muted">{hint}</span> : null}
      {error ? (
        <span className="field__error" id={errorId}>
          {error}
        </span>
      ) : null}
    </div>
  );
}

export function DefinitionForm({ onDone }: { onDone: () => void }) {
  const [values, setValues] = useState<DefinitionValues>(EMPTY_DEFINITION);
  const [errors, setErrors] = useState<DefinitionErrors>({});
  const create = useCreateDefinition();
  const base = useId();
  const id = (field: string) => `${base}-${field}`;
  const set = <K extends keyof DefinitionValues>(field: K, value: DefinitionValues[K]) =>
    setValues((current) => ({ ...current, [field]: value }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = definitionBody(values);
    setErrors(found);
    if (!body) return;
    create.mutate(body, {
      onSuccess: () => onDone(),
      onError: (error) => {
        if (error instanceof ApiError && (error.status === 422 || error.status === 409)) {
          setErrors(problemFieldErrors(error.problem));
        }
      },
    });
  };

  const otherError =
    create.isError &&
    !(create.error instanceof ApiError && [409, 422].includes(create.error.status));
  return (
    <form className="rule-editor" aria-label="New report definition" onSubmit={submit} noValidate>
      <h3>New report definition</h3>
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
        <Field label="Kind" id={id('kind')} error={errors.kind}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={values.kind}
              onChange={(e) => set('kind', e.target.value as DefinitionValues['kind'])}
            >
              {KINDS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Scope" id={id('scope')} error={errors.scope}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={values.scope}
              onChange={(e) => set('scope', e.target.value as DefinitionValues['scope'])}
            >
              <option value="fleet">Fleet</option>
              <option value="site">One site</option>
            </select>
          )}
        </Field>
        {values.scope === 'site' ? (
          <Field label="Site" id={id('site')} error={errors.site}>
            {(p) => (
              <input
                {...p}
                className="input"
                value={values.site}
                onChange={(e) => set('site', e.target.value)}
              />
            )}
          </Field>
        ) : null}
        <Field label="Period" id={id('period')} error={errors.period}>
          {(p) => (
            <select
              {...p}
              className="input"
              value={values.period}
              onChange={(e) => set('period', e.target.value as DefinitionValues['period'])}
            >
              {PERIODS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Schedule (cron)"
          id={id('schedule')}
          error={errors.schedule}
          hint="minute hour day month weekday, plant time; empty: on demand only"
        >
          {(p) => (
            <input
              {...p}
              className="input"
              placeholder="0 6 * * 1"
              value={values.schedule}
              onChange={(e) => set('schedule', e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Recipients"
          id={id('recipients')}
          error={errors.recipients}
          hint="email addresses, comma-separated"
        >
          {(p) => (
            <input
              {...p}
              className="input"
              value={values.recipients}
              onChange={(e) => set('recipients', e.target.value)}
            />
          )}
        </Field>
        <label className="field field--inline">
          <input
            type="checkbox"
            checked={values.enabled}
            onChange={(e) => set('enabled', e.target.checked)}
          />{' '}
          Schedule on
        </label>
      </div>
      {errors.form ? (
        <p className="notice notice--error" role="alert">
          {errors.form}
        </p>
      ) : null}
      {otherError ? (
        <ErrorNotice error={create.error} context="Could not save the definition" />
      ) : null}
      <div className="editor__actions">
        <button type="submit" className="button" disabled={create.isPending}>
          {create.isPending ? 'Saving…' : 'Create'}
        </button>
        <button type="button" className="button button--quiet" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
