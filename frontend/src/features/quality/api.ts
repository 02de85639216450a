// The fleet's data quality (GET /api/v1/data-quality) for the data-quality view.
import { useQuery } from '@tanstack/react-query';
import { fleetDataQualityQuery } from '../../api/dataQuality';
import type { QualityWindow } from '../../lib/dataQuality';

/** Machines (and clocks) listed in the view. */
export const TOP_MACHINES = 10;

export function useFleetDataQuality(window: QualityWindow) {
  return useQuery(fleetDataQualityQuery(window, TOP_MACHINES));
}
