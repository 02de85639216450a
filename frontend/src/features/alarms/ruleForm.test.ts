import { makeRule } from '../../testing/alarmData';
import {
  bodyOf,
  EMPTY_RULE,
  fromRule,
  problemErrors,
  validateDays,
  validateRule,
  type RuleFormValues,
} from './ruleForm';

const VALID: RuleFormValues = {
  ...EMPTY_RULE,
  name: ' pump hot ',
  machineType: 'centrifugal_pump',
  sensor: 'temperature_c',
  threshold: '80.5',
  deadband: '1',
  onDelay: '5',
  offDelay: '10',
  priority: 'high',
};

describe('rule form validation', () => {
  it('builds the request body from valid values (one scope, numbers parsed, name trimmed)', () => {
    expect(validateRule(VALID)).toEqual({
      errors: {},
      body: {
        name: 'pump hot',
        machine_type: 'centrifugal_pump',
        sensor: 'temperature_c',
        kind: 'hi',
        threshold: 80.5,
        deadband: 1,
        on_delay_s: 5,
        off_delay_s: 10,
        priority: 'high',
        enabled: true,
      },
    });
    const machine = validateRule({ ...VALID, scope: 'machine_id', machineId: 'pump-0001' });
    expect(machine.body).toMatchObject({ machine_id: 'pump-0001' });
    expect(machine.body).not.toHaveProperty('machine_type');
  });

  it('names every wrong field, as the backend would, and sends nothing', () => {
    const { body, errors } = validateRule({
      ...EMPTY_RULE,
      name: '   ',
      sensor: 'Temperature C',
      threshold: 'hot',
      deadband: '-1',
      onDelay: '90000',
      offDelay: '',
    });
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual([
      'deadband',
      'machineType',
      'name',
      'offDelay',
      'onDelay',
      'sensor',
      'threshold',
    ]);
    expect(errors.threshold).toBe('A number is needed.');
    expect(errors.onDelay).toBe('0 to 86,400 seconds.');
  });

  it('asks for the machine id when the rule is for one machine', () => {
    expect(validateRule({ ...VALID, scope: 'machine_id', machineId: '' }).errors).toEqual({
      machineId: 'Give a machine id.',
    });
    expect(validateRule({ ...VALID, scope: 'machine_id', machineId: 'a b' }).errors).toHaveProperty(
      'machineId',
    );
    expect(validateRule({ ...VALID, name: 'x'.repeat(129) }).errors).toHaveProperty('name');
  });

  it('checks the preview period (1 to 30 days)', () => {
    expect(validateDays('7')).toBeNull();
    expect(validateDays('30')).toBeNull();
    expect(validateDays('0')).not.toBeNull();
    expect(validateDays('31')).not.toBeNull();
    expect(validateDays('')).not.toBeNull();
  });

  it('round-trips a stored rule through the form and back to a body', () => {
    const rule = makeRule();
    expect(validateRule(fromRule(rule)).body).toEqual(bodyOf(rule));
    const machineRule = makeRule({ machine_type: null, machine_id: 'pump-0001' });
    expect(fromRule(machineRule).scope).toBe('machine_id');
    expect(bodyOf(machineRule)).toMatchObject({ machine_id: 'pump-0001' });
    expect(bodyOf(machineRule)).not.toHaveProperty('machine_type');
  });
});

describe("the backend's 422 on the form", () => {
  const problem = (errors: Array<Record<string, unknown>>, detail = 'x') => ({
    type: 'about:blank',
    title: 'Invalid request',
    status: 422,
    detail,
    errors,
  });

  it('puts each failing field next to the form field it names', () => {
    expect(
      problemErrors(
        problem([
          { loc: ['body', 'threshold'], msg: 'Input should be a finite number' },
          { loc: ['body', 'on_delay_s'], msg: 'Input should be less than or equal to 86400' },
          { loc: ['body', 'rule', 'deadband'], msg: 'Input should be greater than or equal to 0' },
          { loc: ['body', 'days'], msg: 'Input should be less than or equal to 30' },
        ]),
      ),
    ).toEqual({
      threshold: 'Input should be a finite number',
      onDelay: 'Input should be less than or equal to 86400',
      deadband: 'Input should be greater than or equal to 0',
      days: 'Input should be less than or equal to 30',
    });
  });

  it('gives what belongs to no field (the rule as a whole) to the form', () => {
    expect(
      problemErrors(
        problem([
          { loc: ['body'], msg: 'Value error, give exactly one of machine_type and machine_id' },
        ]),
      ),
    ).toEqual({ form: 'Give exactly one of machine_type and machine_id' });
  });

  it('shows the detail when the answer lists no fields (too many readings to preview)', () => {
    expect(
      problemErrors({
        type: 'about:blank',
        title: 'Invalid input',
        status: 422,
        detail: 'The period holds 2,400,000 readings, more than 1,000,000',
      }),
    ).toEqual({ form: 'The period holds 2,400,000 readings, more than 1,000,000' });
  });
});
