import { findQualityWindow, formatOffset, ruleCount, ruleDescription } from './dataQuality';
import { RULES } from '../testing/qualityData';

describe('data quality display', () => {
  it('says which way a device clock is off, and nothing below what is shown', () => {
    expect(formatOffset(41.23)).toBe('+41.2 s (device clock behind)');
    expect(formatOffset(-1.5)).toBe('−1.50 s (device clock ahead)');
    expect(formatOffset(0.001)).toBe('0.00 s');
  });

  it('falls back to the first window and tells counted from uncounted rules', () => {
    expect(findQualityWindow('nonsense').key).toBe('24h');
    expect(findQualityWindow('30d').spanMs).toBe(30 * 86_400_000);
    const counts = { physical_range: 1, gap: 2, duplicate: null, late: 3, clock_offset: 4 };
    expect(ruleCount(counts, 'duplicate')).toBeNull();
    expect(ruleCount(counts, 'late')).toBe(3);
    expect(ruleDescription('clock_offset', { ...RULES, clock_correction: true })).toBe(
      'from a device whose clock is off by over 2 s (corrected)',
    );
  });
});
