// Edits the desired state as an RFC 7396 JSON merge patch. The patch is sent with
// If-Match: "<desired version the operator started from>", so a concurrent change answers 412
// instead of being overwritten silently. A role that may not change it (viewer) sees the editor
// disabled, with the reason. As the operator edits, the patch is tried (debounced) with the dry run
// and its preview is shown before "Apply".
import { useId, useMemo, useState, type FormEvent } from 'react';
import type { Twin } from '../../../api/types';
import { ApiError } from '../../../api/client';
import { usePermission } from '../../../auth/useSession';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { useDebounced } from '../../../hooks/useDebounced';
import { useDryRun, usePatchDesired } from '../api';
import { DryRunPreview } from './DryRunPreview';

/** How long typing must pause before the patch is previewed. */
export const PREVIEW_DELAY_MS = 400;

/** A starting patch: the settings the device reports, so the operator edits real names. */
function template(twin: Twin): string {
  const base = Object.keys(twin.desired).length > 0 ? twin.desired : twin.reported;
  return JSON.stringify(base, null, 2);
}

export function parsePatch(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'A merge patch must be a JSON object, e.g. {"mode": "standby"}.';
  }
  return value as Record<string, unknown>;
}

export function DesiredEditor({ twin }: { twin: Twin }) {
  const [text, setText] = useState(() => template(twin));
  /** The desired version the edit is based on: fixed once the operator starts typing. */
  const [baseVersion, setBaseVersion] = useState<number | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const mutation = usePatchDesired(twin.id);
  const permission = usePermission('changeDesired');
  const deniedId = useId();
  /** Props of a control the role may not use: disabled, with the reason as tooltip and description. */
  const denied = permission.allowed
    ? {}
    : { disabled: true, title: permission.reason ?? undefined, 'aria-describedby': deniedId };
  const version = baseVersion ?? twin.desired_version;
  const conflict = mutation.error instanceof ApiError && mutation.error.status === 412;
  const movedOn = baseVersion !== null && twin.desired_version !== baseVersion;
  // the preview follows the text once typing pauses, only after the operator started editing
  const settled = useDebounced(text, PREVIEW_DELAY_MS);
  const previewPatch = useMemo(() => {
    if (baseVersion === null || !permission.allowed || settled !== text) return null;
    const parsed = parsePatch(settled);
    return typeof parsed === 'string' ? null : parsed;
  }, [settled, text, baseVersion, permission.allowed]);
  const preview = useDryRun(twin.id, previewPatch, twin.desired_version);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!permission.allowed) return;
    const patch = parsePatch(text);
    if (typeof patch === 'string') {
      setInvalid(patch);
      return;
    }
    setInvalid(null);
    mutation.mutate(
      { patch, version },
      {
        onSuccess: ({ data }) => {
          setBaseVersion(null);
          setText(JSON.stringify(data.desired, null, 2));
        },
      },
    );
  };

  const rebase = () => {
    setBaseVersion(twin.desired_version);
    mutation.reset();
  };

  return (
    <form className="editor" onSubmit={submit} aria-label="Desired state editor">
      <label className="field field--block">
        <span className="field__label">
          Merge patch (JSON) — based on desired version <strong>{version}</strong>
        </span>
        <textarea
          className="input editor__text"
          rows={5}
          spellCheck={false}
          value={text}
          aria-invalid={invalid !== null}
          {...denied}
          onChange={(event) => {
            if (baseVersion === null) setBaseVersion(twin.desired_version);
            setText(event.target.value);
          }}
        />
      </label>
      {movedOn && !conflict ? (
        <p className="notice notice--warn" role="note">
          The desired state changed to version {twin.desired_version} since you started editing;
          applying will be refused until you rebase.
        </p>
      ) : null}
      {invalid ? (
        <p className="notice notice--error" role="alert">
          {invalid}
        </p>
      ) : null}
      {mutation.isError ? (
        <ErrorNotice
          error={mutation.error}
          context={conflict ? 'Conflict' : 'Could not apply the patch'}
        />
      ) : null}
      {previewPatch !== null ? (
        <DryRunPreview result={preview.data} error={preview.error} pending={preview.isFetching} />
      ) : null}
      <div className="editor__actions">
        <button type="submit" className="button" disabled={mutation.isPending} {...denied}>
          {mutation.isPending ? 'Applying…' : 'Apply patch'}
        </button>
        {conflict || movedOn ? (
          <button type="button" className="button button--quiet" onClick={rebase}>
            Rebase on version {twin.desired_version}
          </button>
        ) : null}
        <button
          type="button"
          className="button button--quiet"
          onClick={() => {
            setText(template(twin));
            setBaseVersion(null);
            setInvalid(null);
            mutation.reset();
          }}
        >
          Reset
        </button>
        {permission.allowed ? null : (
          <span className="muted" id={deniedId}>
            {permission.reason}
          </span>
        )}
        {mutation.isSuccess && !mutation.isPending ? (
          <span className="muted" role="status">
            Sent as desired version {mutation.data.data.version}.
          </span>
        ) : null}
      </div>
    </form>
  );
}
