import { makeTwin } from '../../testing/sampleData';
import { FleetStore } from './fleetStore';

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
      { id: 'pump-0002', kind: 'twin', twin: makeTwin({ id: 'pump-0002' }) },
    ]);
    expect(ids()).toEqual(['pump-0002', 'pump-0003']);
    store.dispose();
  });
});
