// The dialogs of the alarm actions that need words: acknowledging several alarms (an optional
// comment), shelving one (how long, and why: required), commenting on one.
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { Dialog } from '../../../components/Dialog';
import { ErrorNotice } from '../../../components/ErrorNotice';

/** How long an alarm may be shelved: ISA-18.2 shelving is temporary (the backend allows 7 days). */
export const SHELVE_DURATIONS: ReadonlyArray<readonly [number, string]> = [
  [15 * 60, '15 minutes'],
  [60 * 60, '1 hour'],
  [2 * 3600, '2 hours'],
  [4 * 3600, '4 hours'],
  [8 * 3600, '8 hours'],
  [12 * 3600, '12 hours'],
  [24 * 3600, '24 hours'],
  [3 * 86_400, '3 days'],
  [7 * 86_400, '7 days'],
];

export const MAX_COMMENT = 2000;

interface Common {
  onClose: () => void;
  pending: boolean;
  error: unknown;
}

/** A comment (required or not) and one button: bulk acknowledge, comment. */
export function TextDialog({
  title,
  label,
  submitLabel,
  required,
  onSubmit,
  onClose,
  pending,
  error,
  children,
}: Common & {
  title: string;
  label: string;
  submitLabel: string;
  required: boolean;
  onSubmit: (text: string) => void;
  children?: ReactNode;
}) {
  const id = useId();
  const [text, setText] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = text.trim();
    if (required && !value) {
      setInvalid('Write something first.');
      return;
    }
    setInvalid(null);
    onSubmit(value);
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form className="dialog__form" onSubmit={submit} aria-label={title}>
        {children}
        <div className="field field--block">
          <label className="field__label" htmlFor={`${id}-text`}>
            {label}
            {required ? '' : ' (optional)'}
          </label>
          <textarea
            id={`${id}-text`}
            className="input"
            rows={3}
            maxLength={MAX_COMMENT}
            value={text}
            aria-invalid={invalid !== null}
            aria-describedby={invalid ? `${id}-error` : undefined}
            onChange={(event) => setText(event.target.value)}
          />
          {invalid ? (
            <span className="field__error" role="alert" id={`${id}-error`}>
              {invalid}
            </span>
          ) : null}
        </div>
        {error ? <ErrorNotice error={error} context="Not done" /> : null}
        <div className="dialog__actions">
          <button type="submit" className="button" disabled={pending}>
            {pending ? 'Sending…' : submitLabel}
          </button>
          <button type="button" className="button button--quiet" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ShelveDialog({
  subject,
  onSubmit,
  onClose,
  pending,
  error,
}: Common & {
  subject: string;
  onSubmit: (durationS: number, reason: string) => void;
}) {
  const [duration, setDuration] = useState(String(SHELVE_DURATIONS[1]?.[0] ?? 3600));
  const id = useId();
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const why = reason.trim();
    if (!why) {
      setInvalid('Shelving needs a reason.');
      return;
    }
    setInvalid(null);
    onSubmit(Number(duration), why);
  };
  return (
    <Dialog title="Shelve alarm" onClose={onClose}>
      <form className="dialog__form" onSubmit={submit} aria-label="Shelve alarm">
        <p className="muted">
          {subject}: hidden from the list, the badge and notifications until the time is up.
        </p>
        <label className="field field--block">
          <span className="field__label">For</span>
          <select
            className="input"
            value={duration}
            onChange={(event) => setDuration(event.target.value)}
          >
            {SHELVE_DURATIONS.map(([seconds, label]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <div className="field field--block">
          <label className="field__label" htmlFor={`${id}-reason`}>
            Reason
          </label>
          <textarea
            id={`${id}-reason`}
            className="input"
            rows={3}
            maxLength={MAX_COMMENT}
            value={reason}
            aria-invalid={invalid !== null}
            aria-describedby={invalid ? `${id}-error` : undefined}
            onChange={(event) => setReason(event.target.value)}
          />
          {invalid ? (
            <span className="field__error" role="alert" id={`${id}-error`}>
              {invalid}
            </span>
          ) : null}
        </div>
        {error ? <ErrorNotice error={error} context="Not shelved" /> : null}
        <div className="dialog__actions">
          <button type="submit" className="button" disabled={pending}>
            {pending ? 'Shelving…' : 'Shelve'}
          </button>
          <button type="button" className="button button--quiet" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
