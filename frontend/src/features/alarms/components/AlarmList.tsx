// The operator's alarm list: unacknowledged first, then by priority; live ages; filters (state,
// priority, site, machine, shelved/suppressed shown or not); per-row acknowledge, shelve, unshelve,
// comment and history; select rows and acknowledge them together with one comment. Fed by the
// server's list with the `alarms` stream's newer copies over it (polled while the stream is not
// live). A role that may not act sees the actions disabled, with the reason.
import { Fragment, useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { AlarmPriority, AlarmState, BulkAckResult } from '../../../api/types';
import { usePermission } from '../../../auth/useSession';
import { AlarmHistory } from '../../../components/AlarmHistory';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { PriorityChip } from '../../../components/PriorityChip';
import { useDebounced } from '../../../hooks/useDebounced';
import { useNow } from '../../../hooks/useNow';
import {
  isHidden,
  isOpen,
  isUnacknowledged,
  PRIORITIES,
  STATE_LABELS,
  STATES,
} from '../../../lib/alarms';
import { formatAge, formatDateTime, formatValue } from '../../../lib/format';
import { parseTime } from '../../../lib/time';
import { useRealtime } from '../../../realtime/useRealtime';
import { useAlarmAction, useAlarmList, useBulkAck, type AlarmAction } from '../api';
import { DEFAULT_FILTER, viewAlarms, type AlarmFilter, type AlarmRow } from '../alarmsStore';
import { POLL_MS, type AlarmFeed } from '../hooks/useAlarmFeed';
import { ShelveDialog, TextDialog } from './ActionDialogs';

interface AlarmListProps {
  feed: AlarmFeed;
  onOpenMachine: (machineId: string) => void;
  selectedMachine: string | null;
}

type Dialogs =
  | { kind: 'bulk'; ids: number[] }
  | { kind: 'shelve'; row: AlarmRow }
  | { kind: 'comment'; row: AlarmRow }
  | null;

function toggle<T>(items: readonly T[], item: T): T[] {
  return items.includes(item) ? items.filter((x) => x !== item) : [...items, item];
}

function describeBulk(result: BulkAckResult): string {
  const skipped = Object.entries(result.skipped);
  const done = `Acknowledged ${result.acknowledged.length} alarm${result.acknowledged.length === 1 ? '' : 's'}`;
  if (skipped.length === 0) return `${done}.`;
  const why = skipped.map(([id, reason]) => `${id}: ${reason}`).join('; ');
  return `${done}; skipped ${skipped.length} (${why}).`;
}

const ACTION_NAMES: Record<AlarmAction['kind'], string> = {
  ack: 'acknowledge',
  shelve: 'shelve',
  unshelve: 'unshelve',
  comment: 'comment on',
};

export function AlarmList({ feed, onOpenMachine, selectedMachine }: AlarmListProps) {
  const stream = useRealtime();
  const serverNow = useCallback(() => stream.serverNow(), [stream]);
  const now = useNow(1000, serverNow);
  const [filter, setFilter] = useState<AlarmFilter>(DEFAULT_FILTER);
  // Typed filters reach the server once typing pauses.
  const site = useDebounced(filter.site.trim(), 400);
  const machine = useDebounced(filter.machine.trim(), 400);
  const queryFilter = useMemo(() => ({ ...filter, site, machine }), [filter, site, machine]);
  const list = useAlarmList(queryFilter, feed.live ? 60_000 : POLL_MS);
  const { refetch } = list;

  // A new snapshot of the stream (after a reconnect with a gap) may have missed transitions of
  // alarms the list holds: fetch the list again.
  const seenEpoch = useRef(feed.epoch);
  useEffect(() => {
    if (feed.epoch === seenEpoch.current) return;
    seenEpoch.current = feed.epoch;
    void refetch();
  }, [feed.epoch, refetch]);

  const fetched = useMemo(
    () => (list.data?.pages ?? []).flatMap((page) => page.items),
    [list.data],
  );
  // Shelvings run out as time passes: the filter looks at a clock that moves every 10 s.
  const clock = Math.floor(now / 10_000) * 10_000;
  const rows = useMemo(
    () => viewAlarms(fetched, feed.alarms, queryFilter, clock),
    [fetched, feed.alarms, queryFilter, clock],
  );
  const sites = useMemo(() => {
    const found = new Set<string>();
    for (const row of [...fetched, ...feed.alarms.values()]) if (row.site) found.add(row.site);
    return [...found].sort();
  }, [fetched, feed.alarms]);

  const permission = usePermission('actOnAlarms');
  const deniedId = useId();
  const denied = permission.allowed
    ? {}
    : { disabled: true, title: permission.reason ?? undefined, 'aria-describedby': deniedId };

  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [expanded, setExpanded] = useState<ReadonlySet<number>>(new Set());
  const [dialog, setDialog] = useState<Dialogs>(null);
  const [done, setDone] = useState<string | null>(null);
  const [failed, setFailed] = useState<{ action: AlarmAction; error: unknown } | null>(null);

  const action = useAlarmAction();
  const bulk = useBulkAck();

  const selectable = rows.filter((row) => isUnacknowledged(row.state));
  // Only what is still shown and unacknowledged (acknowledged elsewhere meanwhile: dropped).
  const selectableIds = new Set(selectable.map((row) => row.id));
  const chosen = [...selected].filter((id) => selectableIds.has(id));
  const allChosen = selectable.length > 0 && selectable.every((row) => selected.has(row.id));

  const run = (next: AlarmAction, after?: () => void) => {
    setFailed(null);
    setDone(null);
    const before = rows.filter((row) => row.id === next.id);
    action.mutate(next, {
      onSuccess: ({ data }) => {
        feed.apply([data], before);
        after?.();
        if (next.kind === 'ack') setSelected((s) => new Set([...s].filter((id) => id !== next.id)));
      },
      onError: (error) => {
        // Errors of a dialog's action show in the dialog; the others above the list.
        if (!after) setFailed({ action: next, error });
      },
    });
  };

  const set = <K extends keyof AlarmFilter>(key: K, value: AlarmFilter[K]) =>
    setFilter((current) => ({ ...current, [key]: value }));

  return (
    <div className="alarm-list">
      <form
        className="filters alarm-filters"
        aria-label="Alarm filters"
        onSubmit={(e) => e.preventDefault()}
      >
        <fieldset className="checks">
          <legend className="field__label">State</legend>
          {STATES.map((state: AlarmState) => (
            <label key={state} className="check">
              <input
                type="checkbox"
                checked={filter.states.includes(state)}
                onChange={() => set('states', toggle(filter.states, state))}
              />
              {STATE_LABELS[state]}
            </label>
          ))}
        </fieldset>
        <fieldset className="checks">
          <legend className="field__label">Priority</legend>
          {PRIORITIES.map((priority: AlarmPriority) => (
            <label key={priority} className="check">
              <input
                type="checkbox"
                checked={filter.priorities.includes(priority)}
                onChange={() => set('priorities', toggle(filter.priorities, priority))}
              />
              <PriorityChip priority={priority} />
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span className="field__label">Site</span>
          <input
            className="input"
            list="alarm-sites"
            placeholder="all"
            value={filter.site}
            onChange={(event) => set('site', event.target.value)}
          />
          <datalist id="alarm-sites">
            {sites.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span className="field__label">Machine</span>
          <input
            className="input"
            placeholder="machine id"
            value={filter.machine}
            onChange={(event) => set('machine', event.target.value)}
          />
        </label>
        <label className="check check--toggle">
          <input
            type="checkbox"
            checked={filter.showHidden}
            onChange={(event) => set('showHidden', event.target.checked)}
          />
          Show shelved &amp; suppressed
        </label>
      </form>

      <div className="alarm-list__bar">
        <p
          className={`chart-status ${feed.live ? 'chart-status--live' : 'chart-status--stale'}`}
          role="status"
          aria-label="Alarm feed"
        >
          <span>
            {feed.live
              ? 'Live.'
              : `Not live: polling every ${POLL_MS / 1000} s${feed.error ? ` (${feed.error})` : ''}.`}
          </span>{' '}
          <span className="muted">
            {rows.length} alarm{rows.length === 1 ? '' : 's'} shown
          </span>
        </p>
        <button
          type="button"
          className="button"
          disabled={chosen.length === 0}
          {...denied}
          onClick={() => setDialog({ kind: 'bulk', ids: chosen })}
        >
          Acknowledge selected{chosen.length > 0 ? ` (${chosen.length})` : ''}
        </button>
        {permission.allowed ? null : (
          <span className="muted" id={deniedId}>
            {permission.reason}
          </span>
        )}
      </div>
      {done ? (
        <p className="notice" role="status" aria-label="Last action">
          {done}
        </p>
      ) : null}
      {failed ? (
        <ErrorNotice
          error={failed.error}
          context={`Could not ${ACTION_NAMES[failed.action.kind]} alarm ${failed.action.id}`}
        />
      ) : null}
      {list.isError ? <ErrorNotice error={list.error} context="Could not load alarms" /> : null}

      <div className="table-scroll alarm-table-scroll">
        <table className="alarm-table" aria-label="Alarms">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all unacknowledged"
                  checked={allChosen}
                  disabled={selectable.length === 0 || !permission.allowed}
                  onChange={() =>
                    setSelected(allChosen ? new Set() : new Set(selectable.map((row) => row.id)))
                  }
                />
              </th>
              <th scope="col">Priority</th>
              <th scope="col">Age</th>
              <th scope="col">Machine</th>
              <th scope="col">Condition</th>
              <th scope="col">Message</th>
              <th scope="col" className="num">
                Value
              </th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const unack = isUnacknowledged(row.state);
              const hidden = isHidden(row, now);
              const shelved = Boolean(row.shelved_until) && hidden && !row.suppressed;
              const raised = parseTime(row.raised_at);
              const open = expanded.has(row.id);
              return (
                <Fragment key={row.id}>
                  <tr
                    className={`alarm-row alarm-row--${row.priority}${unack ? ' alarm-row--unack' : ''}${hidden ? ' alarm-row--hidden' : ''}${row.machine_id === selectedMachine ? ' alarm-row--selected' : ''}`}
                    aria-label={`Alarm ${row.id}: ${row.machine_id} ${row.condition}`}
                  >
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select alarm ${row.id}`}
                        checked={selected.has(row.id)}
                        disabled={!unack || !permission.allowed}
                        onChange={() =>
                          setSelected((current) => {
                            const next = new Set(current);
                            if (next.has(row.id)) next.delete(row.id);
                            else next.add(row.id);
                            return next;
                          })
                        }
                      />
                    </td>
                    <td>
                      <PriorityChip priority={row.priority} />
                    </td>
                    <td className="num nowrap" title={`${formatDateTime(raised)} UTC`}>
                      {formatAge(now - raised)}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="link"
                        onClick={() => onOpenMachine(row.machine_id)}
                      >
                        {row.machine_id}
                      </button>
                    </td>
                    <td className="nowrap">{row.condition}</td>
                    <td className="alarm-row__message">{row.message}</td>
                    <td className="num">{row.value === null ? '—' : formatValue(row.value)}</td>
                    <td>
                      <span className={`alarm-state alarm-state--${row.state}`}>
                        {STATE_LABELS[row.state] ?? row.state}
                      </span>
                      {shelved ? (
                        <span
                          className="chip chip--neutral"
                          title={`until ${formatDateTime(parseTime(row.shelved_until ?? ''))} UTC`}
                        >
                          shelved
                        </span>
                      ) : null}
                      {row.suppressed ? (
                        <span className="chip chip--neutral">suppressed</span>
                      ) : null}
                      {row.out_of_service ? (
                        <span className="chip chip--neutral">out of service</span>
                      ) : null}
                    </td>
                    <td className="alarm-row__actions">
                      {unack ? (
                        <button
                          type="button"
                          className="button button--small"
                          disabled={action.isPending}
                          {...denied}
                          aria-label={`Acknowledge alarm ${row.id}`}
                          onClick={() => run({ kind: 'ack', id: row.id })}
                        >
                          Ack
                        </button>
                      ) : null}
                      {shelved ? (
                        <button
                          type="button"
                          className="button button--quiet button--small"
                          disabled={action.isPending}
                          {...denied}
                          aria-label={`Unshelve alarm ${row.id}`}
                          onClick={() => run({ kind: 'unshelve', id: row.id })}
                        >
                          Unshelve
                        </button>
                      ) : isOpen(row.state) ? (
                        <button
                          type="button"
                          className="button button--quiet button--small"
                          {...denied}
                          aria-label={`Shelve alarm ${row.id}`}
                          onClick={() => {
                            action.reset();
                            setDialog({ kind: 'shelve', row });
                          }}
                        >
                          Shelve…
                        </button>
                      ) : null}
                      <button
                        type="button"
                        className="button button--quiet button--small"
                        {...denied}
                        aria-label={`Comment on alarm ${row.id}`}
                        onClick={() => {
                          action.reset();
                          setDialog({ kind: 'comment', row });
                        }}
                      >
                        Comment…
                      </button>
                      <button
                        type="button"
                        className="button button--quiet button--small"
                        aria-expanded={open}
                        aria-label={`History of alarm ${row.id}`}
                        onClick={() =>
                          setExpanded((current) => {
                            const next = new Set(current);
                            if (next.has(row.id)) next.delete(row.id);
                            else next.add(row.id);
                            return next;
                          })
                        }
                      >
                        History
                      </button>
                    </td>
                  </tr>
                  {open ? (
                    <tr className="alarm-row__history">
                      <td />
                      <td colSpan={8}>
                        <AlarmHistory alarmId={row.id} seq={row.seq} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {list.isPending ? <p className="muted">Loading alarms…</p> : null}
      {list.isSuccess && rows.length === 0 ? (
        <p className="muted">No alarms match. New ones appear here as they are raised.</p>
      ) : null}
      {list.hasNextPage ? (
        <button
          type="button"
          className="button button--quiet"
          disabled={list.isFetchingNextPage}
          onClick={() => void list.fetchNextPage()}
        >
          {list.isFetchingNextPage ? 'Loading…' : 'Load older alarms'}
        </button>
      ) : null}

      {dialog?.kind === 'bulk' ? (
        <TextDialog
          title={`Acknowledge ${dialog.ids.length} alarm${dialog.ids.length === 1 ? '' : 's'}`}
          label="Comment"
          submitLabel="Acknowledge"
          required={false}
          pending={bulk.isPending}
          error={bulk.error}
          onClose={() => {
            bulk.reset();
            setDialog(null);
          }}
          onSubmit={(comment) =>
            bulk.mutate(
              { ids: dialog.ids, ...(comment ? { comment } : {}) },
              {
                onSuccess: ({ data }) => {
                  setDone(describeBulk(data));
                  setSelected(new Set());
                  setDialog(null);
                },
              },
            )
          }
        />
      ) : null}
      {dialog?.kind === 'shelve' ? (
        <ShelveDialog
          subject={`${dialog.row.machine_id} ${dialog.row.condition}`}
          pending={action.isPending}
          error={action.error}
          onClose={() => setDialog(null)}
          onSubmit={(duration_s, reason) =>
            run({ kind: 'shelve', id: dialog.row.id, duration_s, reason }, () => setDialog(null))
          }
        />
      ) : null}
      {dialog?.kind === 'comment' ? (
        <TextDialog
          title={`Comment on alarm ${dialog.row.id}`}
          label="Comment"
          submitLabel="Add comment"
          required
          pending={action.isPending}
          error={action.error}
          onClose={() => setDialog(null)}
          onSubmit={(comment) =>
            run({ kind: 'comment', id: dialog.row.id, comment }, () => setDialog(null))
          }
        >
          <p className="muted">
            {dialog.row.machine_id} {dialog.row.condition}: {dialog.row.message}
          </p>
        </TextDialog>
      ) : null}
    </div>
  );
}
