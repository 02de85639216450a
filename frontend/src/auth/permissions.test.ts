import { can, deniedReason } from './permissions';

describe('permissions', () => {
  it('lets operators and admins change desired state, not viewers', () => {
    expect(can('viewer', 'changeDesired')).toBe(false);
    expect(can('operator', 'changeDesired')).toBe(true);
    expect(can('admin', 'changeDesired')).toBe(true);
    expect(deniedReason('viewer', 'changeDesired')).toBe('Needs the operator role');
    expect(deniedReason('operator', 'changeDesired')).toBeNull();
  });

  it('lets operators act on alarms and only admins edit alarm rules', () => {
    expect(can('viewer', 'actOnAlarms')).toBe(false);
    expect(can('operator', 'actOnAlarms')).toBe(true);
    expect(can('operator', 'manageAlarmRules')).toBe(false);
    expect(can('admin', 'manageAlarmRules')).toBe(true);
    expect(deniedReason('viewer', 'actOnAlarms')).toBe('Needs the operator role');
  });

  it('keeps managing users, keys, twins and machine types to admins', () => {
    for (const action of [
      'manageUsers',
      'manageApiKeys',
      'manageTwins',
      'manageMachineTypes',
    ] as const) {
      expect(can('operator', action)).toBe(false);
      expect(can('admin', action)).toBe(true);
      expect(deniedReason('viewer', action)).toBe('Needs the admin role');
    }
  });
});
