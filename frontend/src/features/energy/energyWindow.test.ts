import { bucketOf, windowFits, windowOf, WINDOWS } from './energyWindow';

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
