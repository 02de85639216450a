import { canonicalStrategy, STRATEGIES, strategyView } from './strategy';

describe('strategies', () => {
  it('labels every strategy of the vocabulary', () => {
    expect(STRATEGIES.map((s) => strategyView(s).label)).toEqual([
      'defensive',
      'neutral',
      'stable growth',
      'aggressive',
    ]);
    expect(strategyView('stable_growth').modifier).toBe('stable_growth');
  });

  it.each([
    ['stable', 'stable_growth'],
    ['monitor', 'neutral'],
    ['defensive', 'defensive'],
    ['aggressive', 'aggressive'],
  ])('reads the old name %s as %s', (old, current) => {
    expect(canonicalStrategy(old)).toBe(current);
  });

  it('shows an unknown name as it is, without a colour', () => {
    expect(canonicalStrategy('reckless')).toBeNull();
    expect(canonicalStrategy(null)).toBeNull();
    expect(strategyView('reckless')).toEqual({ label: 'reckless', modifier: 'unknown' });
  });
});
