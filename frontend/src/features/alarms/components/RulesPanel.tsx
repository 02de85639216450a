// The threshold rules: every role reads them; admins create, edit, enable or disable (a PUT of the
// rule with `enabled` flipped) and delete them, each change guarded by If-Match on the version.
import { useId, useState } from 'react';
import { ApiError } from '../../../api/client';
import type { AlarmRule } from '../../../api/types';
import { usePermission } from '../../../auth/useSession';
import { ErrorNotice } from '../../../components/ErrorNotice';
import { PriorityChip } from '../../../components/PriorityChip';
import { formatMachineType } from '../../../lib/format';
import { useDeleteRule, useMachineTypes, useRules, useSaveRule } from '../api';
import { bodyOf } from '../ruleForm';
import { RuleEditor } from './RuleEditor';

type Editing = { rule: AlarmRule | null } | null;

export function RulesPanel() {
  const rules = useRules();
  const machineTypes = useMachineTypes();
  const permission = usePermission('manageAlarmRules');
  const deniedId = useId();
  const denied = permission.allowed
    ? {}
    : { disabled: true, title: permission.reason ?? undefined, 'aria-describedby': deniedId };
  const [editing, setEditing] = useState<Editing>(null);
  /** The rule whose Delete was clicked once (the second click deletes). */
  const [confirming, setConfirming] = useState<number | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const toggle = useSaveRule();
  const remove = useDeleteRule();

  const all = rules.data?.items ?? [];
  const latest = editing?.rule ? (all.find((r) => r.id === editing.rule?.id) ?? null) : null;
  const needle = search.trim().toLowerCase();
  const items = all
    .filter(
      (r) =>
        !needle ||
        [r.name, r.sensor, r.machine_type ?? '', r.machine_id ?? ''].some((text) =>
          text.toLowerCase().includes(needle),
        ),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  const failure = toggle.error ?? remove.error;

  return (
    <div className="rules">
      <div className="alarm-list__bar">
        <p className="muted">
          A rule raises an alarm when a sensor stays beyond its threshold for the on delay, and
          clears it once the value is back inside by the deadband for the off delay.
        </p>
        <input
          type="search"
          className="input"
          placeholder="Search rules…"
          aria-label="Search rules"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <button
          type="button"
          className="button"
          {...denied}
          onClick={() => {
            setSaved(null);
            setEditing({ rule: null });
          }}
        >
          New rule
        </button>
        {permission.allowed ? null : (
          <span className="muted" id={deniedId}>
            {permission.reason}
          </span>
        )}
      </div>
      {saved ? (
        <p className="notice" role="status" aria-label="Last change">
          {saved}
        </p>
      ) : null}
      {editing ? (
        <RuleEditor
          key={editing.rule?.id ?? 'new'}
          rule={editing.rule}
          latest={latest}
          machineTypes={machineTypes.data?.items ?? []}
          onDone={(rule) => {
            setEditing(null);
            if (rule) setSaved(`Saved rule “${rule.name}” (version ${rule.version}).`);
          }}
        />
      ) : null}
      {rules.isError ? (
        <ErrorNotice error={rules.error} context="Could not load the rules" />
      ) : null}
      {failure ? (
        <ErrorNotice
          error={failure}
          context={
            failure instanceof ApiError && failure.status === 412
              ? 'Conflict: the rule changed meanwhile; the list shows its newest version'
              : 'Could not change the rule'
          }
        />
      ) : null}
      <div className="table-scroll">
        <table className="alarm-table" aria-label="Threshold rules">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Applies to</th>
              <th scope="col">Condition</th>
              <th scope="col" className="num">
                Deadband
              </th>
              <th scope="col" className="num">
                Delays on / off
              </th>
              <th scope="col">Priority</th>
              <th scope="col">Enabled</th>
              <th scope="col" className="num">
                Version
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((rule) => (
              <tr key={rule.id} aria-label={`Rule ${rule.name}`}>
                <th scope="row">{rule.name}</th>
                <td>
                  {rule.machine_id
                    ? rule.machine_id
                    : `every ${formatMachineType(rule.machine_type ?? '')}`}
                </td>
                <td className="nowrap">
                  {rule.sensor} {rule.kind.startsWith('h') ? '>' : '<'} {rule.threshold}{' '}
                  <span className="muted">({rule.kind})</span>
                </td>
                <td className="num">{rule.deadband}</td>
                <td className="num nowrap">
                  {rule.on_delay_s} s / {rule.off_delay_s} s
                </td>
                <td>
                  <PriorityChip priority={rule.priority} />
                </td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Enabled: ${rule.name}`}
                    checked={rule.enabled}
                    disabled={toggle.isPending}
                    {...denied}
                    onChange={() => {
                      remove.reset();
                      toggle.mutate({
                        kind: 'replace',
                        id: rule.id,
                        version: rule.version,
                        body: { ...bodyOf(rule), enabled: !rule.enabled },
                      });
                    }}
                  />
                </td>
                <td className="num">{rule.version}</td>
                <td className="alarm-row__actions">
                  <button
                    type="button"
                    className="button button--quiet button--small"
                    {...denied}
                    aria-label={`Edit rule ${rule.name}`}
                    onClick={() => {
                      setSaved(null);
                      setEditing({ rule });
                    }}
                  >
                    Edit
                  </button>
                  {confirming === rule.id ? (
                    <button
                      type="button"
                      className="button button--danger button--small"
                      disabled={remove.isPending}
                      {...denied}
                      onClick={() => {
                        toggle.reset();
                        remove.mutate(rule, {
                          onSuccess: () => setSaved(`Deleted rule “${rule.name}”.`),
                          onSettled: () => setConfirming(null),
                        });
                      }}
                    >
                      Confirm delete
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="button button--quiet button--small"
                      {...denied}
                      aria-label={`Delete rule ${rule.name}`}
                      onClick={() => setConfirming(rule.id)}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rules.isPending ? <p className="muted">Loading rules…</p> : null}
      {rules.isSuccess && items.length === 0 ? (
        <p className="muted">{all.length === 0 ? 'No threshold rules yet.' : 'No rule matches.'}</p>
      ) : null}
    </div>
  );
}
