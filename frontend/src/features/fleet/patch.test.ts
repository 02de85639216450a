import { makeTwin, makeUpdate, sampleTwins } from '../../testing/sampleData';
import { applyUpdates, mergeUpdate, type PendingUpdate } from './patch';

const at = '2026-11-23T10:00:00.500Z';
const pending = (...updates: PendingUpdate['update'][]) =>
  new Map(updates.map((update) => [update.id, { update, receivedAt: at }]));

describe('applyUpdates', () => {
  it('patches the updated twin and keeps the others identical', () => {
    const next = applyUpdates(
      sampleTwins,
      pending(makeUpdate({ readings: { temperature_c: 70 }, quality: 'bad' })),
    );
    const pump = next.items.find((twin) => twin.id === 'pump-0001');
    expect(pump).toMatchObject({ quality: 'bad', last_seen: at, ts: '2026-11-23T10:00:00.000Z' });
    // Sensors missing from the update keep their last value.
    expect(pump?.readings).toMatchObject({ temperature_c: 70, pressure_bar: 4.5 });
    expect(next.items[1]).toBe(sampleTwins.items[1]);
    expect(next.count).toBe(3);
  });

  it('ignores an update older than the twin', () => {
    const next = applyUpdates(sampleTwins, pending(makeUpdate({ ts: '2026-11-23T09:00:00Z' })));
    expect(next.items[0]).toBe(sampleTwins.items[0]);
  });

  it('adds new machines in id order', () => {
    const next = applyUpdates(sampleTwins, pending(makeUpdate({ id: 'boiler-0009' })));
    expect(next.items.map((twin) => twin.id)).toEqual([
      'boiler-0009',
      'compressor-0002',
      'conveyor-0003',
      'pump-0001',
    ]);
    expect(next.count).toBe(4);
  });
});

describe('mergeUpdate', () => {
  it('keeps the newest values and the union of sensors', () => {
    const older = makeUpdate({ ts: '2026-11-23T10:00:00Z', readings: { a_c: 1, b_c: 2 } });
    const newer = makeUpdate({ ts: '2026-11-23T10:00:01Z', readings: { a_c: 3 } });
    expect(mergeUpdate(older, newer).readings).toEqual({ a_c: 3, b_c: 2 });
    expect(mergeUpdate(newer, older).readings).toEqual({ a_c: 3, b_c: 2 });
    expect(mergeUpdate(newer, older).ts).toBe('2026-11-23T10:00:01Z');
    expect(mergeUpdate(undefined, older)).toBe(older);
  });

  it('is not confused by twins with no site', () => {
    expect(makeTwin({ site: null }).site).toBeNull();
  });
});
