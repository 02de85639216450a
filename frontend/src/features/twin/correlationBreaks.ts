// Correlation breaks from the API's loosely typed `breaks` list.
import type { Correlations } from '../../api/types';

export interface CorrelationBreak {
  sensor_a: string;
  sensor_b: string;
  baseline: number | null;
  recent: number | null;
}

export function readBreaks(breaks: Correlations['breaks']): CorrelationBreak[] {
  const num = (value: unknown) => (typeof value === 'number' ? value : null);
  return breaks
    .filter((b) => typeof b.sensor_a === 'string' && typeof b.sensor_b === 'string')
    .map((b) => ({
      sensor_a: b.sensor_a as string,
      sensor_b: b.sensor_b as string,
      baseline: num(b.baseline),
      recent: num(b.recent),
    }));
}
