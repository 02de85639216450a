import { makeTwin, wholeTwinChange } from '../../testing/sampleData';
import { FleetStore, ROWS_PER_FRAME } from './fleetStore';

describe('FleetStore', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'Date', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('renders the clock with the updates, and on its own only when no update came', () => {
    let serverNow = 1_000_000;
    const store = new FleetStore(() => serverNow);
    const heard = vi.fn();
    store.subscribe(heard);
    store.replaceAll([makeTwin({ id: 'pump-0001' })]);
    expect(heard).toHaveBeenCalledTimes(1);
    expect(store.getNow()).toBe(1_000_000);

    // An update half a second later: one notification, with the clock read then.
    vi.advanceTimersByTime(500);
    serverNow += 500;
    store.applyChanges([{ id: 'pump-0001', kind: 'analytics', health: 50 }]);
    vi.advanceTimersToNextFrame();
    expect(heard).toHaveBeenCalledTimes(2);
    expect(store.getNow()).toBe(1_000_500);

    // A clock tick right after an update adds no render of its own.
    store.tick(1000);
    vi.advanceTimersToNextFrame();
    expect(heard).toHaveBeenCalledTimes(2);

    // With no updates for a second, the tick renders the new time.
    vi.advanceTimersByTime(1000);
    serverNow += 1000;
    store.tick(1000);
    vi.advanceTimersToNextFrame();
    expect(heard).toHaveBeenCalledTimes(3);
    expect(store.getNow()).toBe(1_001_500);
    store.dispose();
  });

  it('keeps the id order through updates and re-sorts when machines come or go', () => {
    const store = new FleetStore(() => 0);
    store.replaceAll([makeTwin({ id: 'pump-0003' }), makeTwin({ id: 'pump-0001' })]);
    const ids = () => store.getItems().map((t) => t.id);
    expect(ids()).toEqual(['pump-0001', 'pump-0003']);
    store.applyChanges([{ id: 'pump-0003', kind: 'analytics', health: 10 }]);
    expect(ids()).toEqual(['pump-0001', 'pump-0003']);
    expect(store.get('pump-0003')?.health).toBe(10);
    // One machine goes and another comes in the same update.
    store.applyChanges([
      { id: 'pump-0001', kind: 'removed' },
      wholeTwinChange({ id: 'pump-0002' }),
    ]);
    expect(ids()).toEqual(['pump-0002', 'pump-0003']);
    store.dispose();
  });

  it('tells each shown row about its own machine, a few rows per frame', () => {
    let serverNow = Date.parse('2026-11-23T10:00:00Z');
    const store = new FleetStore(() => serverNow);
    const ids = Array.from({ length: 20 }, (_, i) => `pump-${String(i).padStart(4, '0')}`);
    const seen = '2026-11-23T09:59:59Z';
    store.replaceAll(ids.map((id) => makeTwin({ id, last_seen: seen })));
    const heard = new Map<string, number>();
    // Rows shown: the first 18 (the last two are scrolled away).
    const unsubscribe = ids
      .slice(0, 18)
      .map((id) => store.subscribeRow(id, () => heard.set(id, (heard.get(id) ?? 0) + 1)));
    const first = store.getRow('pump-0000');
    expect(first?.age).toBe('1 s');
    expect(first?.status).toBe('online');

    // Every machine changes: the rows hear of it a few per frame (8, 16, 18 for 8 per frame).
    store.applyChanges(ids.map((id) => ({ id, kind: 'analytics' as const, health: 40 })));
    const told = () => [...heard.values()].reduce((sum, n) => sum + n, 0);
    expect(told()).toBe(0);
    vi.advanceTimersToNextFrame(); // the fleet's own render
    for (let frame = 1; frame <= Math.ceil(18 / ROWS_PER_FRAME); frame += 1) {
      vi.advanceTimersToNextFrame();
      expect(told()).toBe(Math.min(18, frame * ROWS_PER_FRAME));
    }
    expect(heard.has('pump-0018')).toBe(false);
    expect(store.getRow('pump-0000')?.twin.health).toBe(40);

    // A clock tick moves every row's age; a row whose view did not change is not told.
    serverNow += 1000;
    store.tick(1000);
    for (let i = 0; i < 6; i += 1) vi.advanceTimersToNextFrame();
    expect(told()).toBe(36);
    expect(store.getRow('pump-0000')?.age).toBe('2 s');
    const view = store.getRow('pump-0001');
    serverNow += 100; // ages still read "2 s"
    store.tick(1000);
    for (let i = 0; i < 6; i += 1) vi.advanceTimersToNextFrame();
    expect(store.getRow('pump-0001')).toBe(view);
    expect(told()).toBe(36);

    // A snapshot reaches every row at once.
    store.replaceAll(ids.map((id) => makeTwin({ id, last_seen: seen, health: 99 })));
    expect(told()).toBe(54);
    expect(store.getRow('pump-0017')?.twin.health).toBe(99);
    for (const stop of unsubscribe) stop();
    store.dispose();
  });
});
