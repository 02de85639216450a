import { makeTwin, SAMPLE_NOW, sampleTwins } from '../../testing/sampleData';
import { countByStatus, EMPTY_FILTER, filterAndSort, fleetOptions } from './fleetView';

const ids = (twins: Array<{ id: string }>) => twins.map((t) => t.id);

describe('fleet view', () => {
  const twins = sampleTwins.items;

  it('sorts by health (worst first) and by anomaly score (highest first), missing last', () => {
    const all = [...twins, makeTwin({ id: 'new-0004', health: null, anomaly_score: null })];
    expect(ids(filterAndSort(all, EMPTY_FILTER, 'health', SAMPLE_NOW))).toEqual([
      'compressor-0002',
      'conveyor-0003',
      'pump-0001',
      'new-0004',
    ]);
    expect(ids(filterAndSort(all, EMPTY_FILTER, '-anomaly_score', SAMPLE_NOW))).toEqual([
      'compressor-0002',
      'conveyor-0003',
      'pump-0001',
      'new-0004',
    ]);
  });

  it('filters by site, line, type, status and id search together', () => {
    const filter = { ...EMPTY_FILTER, site: 'site-1' };
    expect(ids(filterAndSort(twins, filter, 'id', SAMPLE_NOW))).toEqual([
      'conveyor-0003',
      'pump-0001',
    ]);
    expect(ids(filterAndSort(twins, { ...filter, status: 'offline' }, 'id', SAMPLE_NOW))).toEqual([
      'conveyor-0003',
    ]);
    expect(
      ids(filterAndSort(twins, { ...EMPTY_FILTER, search: 'PUMP' }, 'id', SAMPLE_NOW)),
    ).toEqual(['pump-0001']);
    expect(
      ids(
        filterAndSort(twins, { ...EMPTY_FILTER, machineType: 'air_compressor' }, 'id', SAMPLE_NOW),
      ),
    ).toEqual(['compressor-0002']);
  });

  it('counts per status, treating a silent online machine as stale', () => {
    const silent = makeTwin({ id: 'quiet-0005', last_seen: '2026-11-23T09:59:00Z' });
    expect(countByStatus([...twins, silent], SAMPLE_NOW)).toEqual({
      online: 2,
      stale: 1,
      offline: 1,
    });
    expect(fleetOptions(twins)).toEqual({
      sites: ['site-1', 'site-2'],
      lines: ['line-1', 'line-2'],
      machineTypes: ['air_compressor', 'centrifugal_pump', 'conveyor'],
    });
  });
});
