import { GAP_MS, withGaps } from './chartData';

describe('withGaps', () => {
  it('breaks the line where data pauses longer than the gap', () => {
    const x = [0, 1000, 2000, 2000 + GAP_MS + 1, 3000 + GAP_MS + 1];
    const result = withGaps({ x, y: [1, 2, 3, 4, 5] });
    expect(result.y).toEqual([1, 2, 3, null, 4, 5]);
    expect(result.x).toEqual([0, 1000, 2000, 2001, 2000 + GAP_MS + 1, 3000 + GAP_MS + 1]);
  });

  it('leaves regular series alone', () => {
    expect(withGaps({ x: [0, 1000], y: [1, 2] })).toEqual({ x: [0, 1000], y: [1, 2] });
    expect(withGaps({ x: [], y: [] })).toEqual({ x: [], y: [] });
  });
});
