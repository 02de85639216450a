import type { Twin } from '../api/types';
import { makeTwin, makeUpdate, wholeTwinChange } from '../testing/sampleData';
import type { TwinChange } from './messages';
import { applyTwinChange, applyTwinChanges } from './twinChanges';

describe('applyTwinChange', () => {
  it('merges reported changes per key: later values win, untouched sensors stay', () => {
    const twin = makeTwin();
    const next = applyTwinChange(
      twin,
      makeUpdate({ readings: { temperature_c: 70 }, reported: { mode: 'standby' } }),
    );
    expect(next?.readings).toEqual({ ...twin.readings, temperature_c: 70 });
    expect(next?.reported).toEqual({ mode: 'standby', speed_setpoint_rpm: 2950 });
    expect(next?.ts).toBe('2026-11-23T10:00:00.000Z');
    expect(next?.version).toBe(11);
    // The original is not mutated (rows memoised on identity re-render only when changed).
    expect(twin.readings.temperature_c).toBe(61.25);
  });

  it('moves a machine when a change carries its placement, and keeps it otherwise', () => {
    const twin = makeTwin();
    const same = applyTwinChange(twin, makeUpdate({ readings: { temperature_c: 70 } }));
    expect([same?.machine_type, same?.site, same?.line]).toEqual([
      twin.machine_type,
      twin.site,
      twin.line,
    ]);
    const moved = applyTwinChange(twin, makeUpdate({ site: 'site-9', line: 'line-4' }));
    expect([moved?.site, moved?.line]).toEqual(['site-9', 'line-4']);
  });

  it('applies coalesced changes in order like the server merged them', () => {
    const twins = new Map([['pump-0001', makeTwin()]]);
    const changes: TwinChange[] = [
      makeUpdate({ version: 11, readings: { temperature_c: 70, pressure_bar: 5 } }),
      { id: 'pump-0001', kind: 'analytics', health: 60, anomaly_score: 0.5 },
      makeUpdate({ version: 13, readings: { temperature_c: 71 } }),
      { id: 'pump-0001', kind: 'analytics', strategy: 'defensive' },
    ];
    const touched = applyTwinChanges(twins, changes);
    expect([...touched]).toEqual(['pump-0001']);
    expect(twins.get('pump-0001')).toMatchObject({
      version: 13, // analytics changes carry no version
      readings: { temperature_c: 71, pressure_bar: 5, flow_m3_h: 120.4 },
      health: 60,
      anomaly_score: 0.5,
      strategy: 'defensive',
    });
  });

  it("reads the strategy names of an older backend as today's", () => {
    const twin = makeTwin();
    const next = applyTwinChange(twin, { id: 'pump-0001', kind: 'analytics', strategy: 'monitor' });
    expect(next?.strategy).toBe('neutral');
    const whole = applyTwinChange(twin, {
      ...wholeTwinChange({ version: 12 }),
      strategy: 'stable',
    });
    expect(whole?.strategy).toBe('stable_growth');
  });

  it('empties the delta once the device reports the desired values', () => {
    const twin = makeTwin({
      desired: { mode: 'standby', speed_setpoint_rpm: 2400 },
      desired_version: 2,
      delta: { mode: 'standby', speed_setpoint_rpm: 2400 },
    });
    const partly = applyTwinChange(twin, makeUpdate({ reported: { mode: 'standby' } }));
    expect(partly?.delta).toEqual({ speed_setpoint_rpm: 2400 });
    const done = applyTwinChange(
      partly ?? undefined,
      makeUpdate({ version: 12, reported: { speed_setpoint_rpm: 2400 } }),
    );
    expect(done?.delta).toEqual({});
  });

  it('applies status changes; their last_seen only when newer', () => {
    const twin = makeTwin();
    // As the status watcher sends them: no version, the new status and when it was last heard from.
    const last_seen = '2026-11-23T10:01:00.000Z';
    expect(
      applyTwinChange(twin, { id: twin.id, kind: 'status', status: 'stale', last_seen }),
    ).toMatchObject({ status: 'stale', last_seen, readings: twin.readings });
    const older = '2026-11-23T09:59:00.000Z'; // read before the twin's newest telemetry landed
    expect(
      applyTwinChange(twin, { id: twin.id, kind: 'status', status: 'online', last_seen: older }),
    ).toMatchObject({ status: 'online', last_seen: twin.last_seen });
  });

  it('ignores changes older than the twin', () => {
    const twin = makeTwin({ version: 20 });
    expect(applyTwinChange(twin, makeUpdate({ version: 19 }))).toBe(twin);
  });

  it('replaces the twin on kind twin unless the twin held is newer, and deletes on removed', () => {
    const twin = makeTwin();
    const whole = wholeTwinChange({
      version: 30,
      desired: { mode: 'standby' },
      desired_version: 2,
    });
    expect(applyTwinChange(twin, whole)).toMatchObject({ version: 30, desired_version: 2 });
    expect(applyTwinChange(makeTwin({ version: 31 }), whole)?.version).toBe(31);
    // the status is the one the server recorded
    expect(applyTwinChange(twin, { ...whole, status_known: 'stale' })?.status).toBe('stale');
    const twins = new Map([[twin.id, twin]]);
    applyTwinChanges(twins, [{ id: twin.id, kind: 'removed' }]);
    expect(twins.size).toBe(0);
  });

  it('takes the readings of a change whose projection it already applied', () => {
    // The fleet subscription's projection of change 11 (last_seen only) comes before the rows
    // subscription's full copy of it: the full copy still applies.
    const twin = makeTwin({ version: 10 });
    const projected = applyTwinChange(twin, {
      id: twin.id,
      kind: 'reported',
      version: 11,
      last_seen: '2026-11-23T10:00:00.050Z',
    });
    expect(projected?.version).toBe(11);
    const full = applyTwinChange(projected ?? undefined, makeUpdate({ version: 11 }));
    expect(full?.readings.temperature_c).toBe(62);
  });

  it('adds a machine first seen through a whole-twin change, not through a partial one', () => {
    const twins = new Map<string, Twin>();
    applyTwinChanges(twins, [
      makeUpdate({ id: 'new-0001' }),
      { id: 'new-0001', kind: 'analytics', health: 50 },
    ]);
    expect(twins.size).toBe(0);
    applyTwinChanges(twins, [wholeTwinChange({ id: 'new-0001', version: 1 })]);
    expect(twins.has('new-0001')).toBe(true);
  });

  it('adds a machine first seen through telemetry: its first change carries its placement', () => {
    const twins = new Map<string, Twin>();
    applyTwinChanges(twins, [
      makeUpdate({ id: 'new-0002', version: 1, machine_type: 'boiler', site: 's9', line: 'l1' }),
    ]);
    expect(twins.get('new-0002')).toMatchObject({
      id: 'new-0002',
      machine_type: 'boiler',
      site: 's9',
      line: 'l1',
      status: 'online',
      version: 1,
      readings: { temperature_c: 62 },
      last_seen: '2026-11-23T10:00:00.050Z',
      desired: {},
    });
  });
});
