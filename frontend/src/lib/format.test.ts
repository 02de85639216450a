import { formatAge, formatClock, formatReading, formatValue, sensorInfo } from './format';
import { parseTime } from './time';

describe('sensorInfo', () => {
  it.each([
    ['temperature_c', 'temperature', '°C'],
    ['vibration_mm_s', 'vibration', 'mm/s'],
    ['pressure_bar', 'pressure', 'bar'],
    ['flow_m3_h', 'flow', 'm³/h'],
    ['current_a', 'current', 'A'],
    ['speed_rpm', 'speed', 'rpm'],
    ['power_kw', 'power', 'kW'],
    ['bearing_temperature_c', 'bearing temperature', '°C'],
    ['state', 'state', ''],
  ])('splits %s into label and unit', (name, label, unit) => {
    expect(sensorInfo(name)).toEqual({ label, unit });
  });
});

describe('formatValue', () => {
  it.each([
    [1234.56, '1235'],
    [120.44, '120'],
    [61.25, '61.3'],
    [2.314, '2.31'],
    [-0.5, '-0.50'],
    [Number.NaN, '—'],
  ])('formats %s as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('adds the unit of the sensor', () => {
    expect(formatReading('temperature_c', 61.25)).toBe('61.3 °C');
  });
});

describe('formatAge', () => {
  it.each([
    [400, 'now'],
    [4_000, '4 s'],
    [119_000, '119 s'],
    [180_000, '3 min'],
    [3 * 3600_000, '3 h'],
    [3 * 86400_000, '3 d'],
    [-5_000, 'now'],
  ])('formats %s ms as %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});

describe('time', () => {
  it('parses Z, offsets and microseconds', () => {
    const expected = Date.UTC(2026, 10, 23, 10, 0, 0, 123);
    expect(parseTime('2026-11-23T10:00:00.123Z')).toBe(expected);
    expect(parseTime('2026-11-23T10:00:00.123456Z')).toBe(expected);
    expect(parseTime('2026-11-23T10:00:00.123456+00:00')).toBe(expected);
    expect(parseTime('not a time')).toBeNaN();
  });

  it('formats a UTC clock', () => {
    expect(formatClock(Date.UTC(2026, 10, 23, 9, 8, 7))).toBe('09:08:07');
  });
});
