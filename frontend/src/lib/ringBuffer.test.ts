import { SeriesRing } from './ringBuffer';

describe('SeriesRing', () => {
  it('keeps points in insertion order below capacity', () => {
    const ring = new SeriesRing(4);
    ring.push(1, 10);
    ring.push(2, 20);
    expect(ring.size).toBe(2);
    expect(ring.snapshot()).toEqual({ x: [1, 2], y: [10, 20] });
    expect(ring.lastTime).toBe(2);
    expect(ring.lastValue).toBe(20);
  });

  it('drops the oldest points once full', () => {
    const ring = new SeriesRing(3);
    for (let t = 1; t <= 7; t += 1) ring.push(t, t * 10);
    expect(ring.size).toBe(3);
    expect(ring.snapshot()).toEqual({ x: [5, 6, 7], y: [50, 60, 70] });
  });

  it('refuses points that are not newer than the newest', () => {
    const ring = new SeriesRing(3);
    expect(ring.pushIfNewer(5, 1)).toBe(true);
    expect(ring.pushIfNewer(5, 2)).toBe(false);
    expect(ring.pushIfNewer(4, 3)).toBe(false);
    expect(ring.snapshot()).toEqual({ x: [5], y: [1] });
  });

  it('reports an empty series', () => {
    const ring = new SeriesRing(2);
    expect(ring.lastTime).toBe(Number.NEGATIVE_INFINITY);
    expect(ring.lastValue).toBeUndefined();
    expect(ring.snapshot()).toEqual({ x: [], y: [] });
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new SeriesRing(0)).toThrow(RangeError);
  });
});
