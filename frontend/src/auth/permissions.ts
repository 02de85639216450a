// Who may do what in the dashboard: the backend's role rules (docs/api.md "Roles") in one place, so
// a control the role may not use is shown disabled with the reason instead of failing with a 403.
import type { Role } from '../api/types';

export type { Role };

/** Roles from least to most: each one may do everything the ones before it may. */
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** The least role each action needs (reading needs viewer, which every identity has). */
const NEEDS = {
  changeDesired: 'operator',
  /** Acknowledge, shelve, unshelve and comment alarms. */
  actOnAlarms: 'operator',
  manageAlarmRules: 'admin',
  manageTwins: 'admin',
  manageMachineTypes: 'admin',
  manageUsers: 'admin',
  manageApiKeys: 'admin',
  /** Create, change, delete and run report definitions (docs/api.md "Reports"). */
  manageReports: 'admin',
} as const satisfies Record<string, Role>;

export type Action = keyof typeof NEEDS;

export function can(role: Role, action: Action): boolean {
  return RANK[role] >= RANK[NEEDS[action]];
}

/** Why `role` may not do `action` ("Needs the operator role"), or null when it may. */
export function deniedReason(role: Role, action: Action): string | null {
  return can(role, action) ? null : `Needs the ${NEEDS[action]} role`;
}
