import { bucketOf, wallClockMs, windowFits, windowOf, WINDOWS } from './energyWindow';

const byKey = (key: string) => WINDOWS.find((w) => w.key === key);

describe('windowOf', () => {
  it('keeps the chosen window, a month by default', () => {
    expect(windowOf('90d')).toBe(byKey('90d'));
    expect(windowOf(null, 'day')).toBe(byKey('31d'));
  });

  it('gives hours a week by default and cuts a window too long for them to the longest that fits', () => {
    expect(windowOf(null, 'hour')).toBe(byKey('7d'));
    expect(windowOf('31d', 'hour')).toBe(byKey('31d'));
    expect(windowOf('365d', 'hour')).toBe(byKey('90d'));
    expect(windowFits(byKey('365d')!, 'hour')).toBe(false);
    expect(windowFits(byKey('365d')!, 'day')).toBe(true);
  });

  it('reads the hour bucket from the URL', () => {
    expect(bucketOf('hour')).toBe('hour');
    expect(bucketOf('fortnight')).toBe('day');
  });
});

describe('wallClockMs', () => {
  it("reads an instant on the plant's clock, as UTC digits for a date axis", () => {
    expect(wallClockMs('2026-12-04T23:00:00Z', 'Europe/Berlin')).toBe(
      Date.parse('2026-12-05T00:00:00Z'),
    );
    // Summer time: two hours ahead.
    expect(wallClockMs('2026-07-01T10:15:30.500Z', 'Europe/Berlin')).toBe(
      Date.parse('2026-07-01T12:15:30.500Z'),
    );
    expect(wallClockMs('2026-12-04T23:00:00Z', 'UTC')).toBe(Date.parse('2026-12-04T23:00:00Z'));
  });

  it('falls back to UTC for an unknown zone, and to NaN for no date', () => {
    expect(wallClockMs('2026-12-04T23:00:00Z', 'Mars/Olympus')).toBe(
      Date.parse('2026-12-04T23:00:00Z'),
    );
    expect(wallClockMs('not a date', 'UTC')).toBeNaN();
  });
});
