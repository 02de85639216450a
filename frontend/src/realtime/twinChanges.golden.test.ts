// The `twins` stream's merge rule against the golden fixtures the backend's rule runs too
// (backend/tests/golden/changes, backend/tests/unit/contracts/test_change_golden.py): one rule, two
// implementations, the same answers.
import type { Twin } from '../api/types';
import type { TwinChange, WholeTwinChange } from './messages';
import { applyTwinChange } from './twinChanges';

interface GoldenCase {
  description: string;
  twin: Omit<WholeTwinChange, 'kind'> | null;
  changes: TwinChange[];
  expect: Record<string, unknown> | null;
}

const cases = import.meta.glob<GoldenCase>('../../../backend/tests/golden/changes/*.json', {
  eager: true,
  import: 'default',
});

describe('golden change-stream fixtures', () => {
  it('finds the fixtures', () => {
    expect(Object.keys(cases).length).toBeGreaterThanOrEqual(10);
  });

  for (const [path, golden] of Object.entries(cases)) {
    const name = path.split('/').pop()?.replace('.json', '');
    it(`${name}: ${golden.description}`, () => {
      // the starting twin is the server's stored shape: the rule's own whole-twin change makes it a Twin
      let twin: Twin | undefined = golden.twin
        ? (applyTwinChange(undefined, { kind: 'twin', ...golden.twin }) ?? undefined)
        : undefined;
      for (const change of golden.changes) {
        const next = applyTwinChange(twin, change);
        twin = next ?? undefined;
      }
      if (golden.expect === null) {
        expect(twin).toBeUndefined();
        return;
      }
      expect(twin).toBeDefined();
      const held = twin as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(golden.expect)) {
        // `status_known` is the status the stream recorded: the dashboard's `status`
        const actual = key === 'status_known' ? held.status : (held[key] ?? null);
        expect([key, actual]).toEqual([key, value]);
      }
    });
  }
});
