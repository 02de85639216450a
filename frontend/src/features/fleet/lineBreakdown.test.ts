import { EMPTY_FILTER } from './fleetView';
import { breakdownParams, breakdownRow } from './lineBreakdown';

describe('line breakdown', () => {
  it('sends the filters the API has and leaves out the empty ones and the id search', () => {
    expect(breakdownParams({ ...EMPTY_FILTER, search: 'pump-00' })).toEqual({
      group_by: 'site,line',
      agg: 'count,avg:health,min:health,count:status=stale,count:status=offline',
      site: undefined,
      line: undefined,
      machine_type: undefined,
      status: undefined,
    });
    expect(
      breakdownParams({ search: '', site: 's', line: 'l', machineType: 't', status: 'offline' }),
    ).toMatchObject({ site: 's', line: 'l', machine_type: 't', status: 'offline' });
  });

  it('reads a group, keeping a missing key apart from the text "null"', () => {
    const none = breakdownRow({ key: { site: 'null', line: null }, count: 3, values: {} });
    expect(none).toEqual({
      key: '["null",null]',
      site: 'null',
      line: null,
      machines: 3,
      avgHealth: null,
      minHealth: null,
      stale: 0,
      offline: 0,
    });
    const numbered = breakdownRow({
      key: { site: 7, line: 'l' },
      count: 2,
      values: { 'avg:health': 80.5, 'min:health': 70, 'count:status=stale': 1 },
    });
    expect(numbered).toMatchObject({ key: '["7","l"]', site: '7', avgHealth: 80.5, stale: 1 });
  });
});
