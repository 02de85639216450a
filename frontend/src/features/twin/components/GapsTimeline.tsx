// The machine's data gaps over the window as a Plotly timeline (horizontal bars from each gap's
// start to its end). Loaded lazily: Plotly is most of the bundle.
import { useCallback } from 'react';
import type { DataGap } from '../../../api/types';
import WidthPlot from '../../../components/WidthPlot';
import { gapsFigure, TIMELINE_HEIGHT } from '../gapsFigure';

export interface GapsTimelineProps {
  gaps: readonly DataGap[];
  /** The window drawn (the API's start and end). */
  start: string;
  end: string;
}

export default function GapsTimeline({ gaps, start, end }: GapsTimelineProps) {
  const figure = useCallback(
    (width: number) => gapsFigure(gaps, { start, end }, width),
    [gaps, start, end],
  );
  return <WidthPlot figure={figure} className="gaps-timeline" height={TIMELINE_HEIGHT} />;
}
