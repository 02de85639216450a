// Alarms per 10 minutes per site as a Plotly bar chart with the flood threshold marked. Loaded
// lazily: Plotly is most of the bundle.
import { useCallback } from 'react';
import WidthPlot from '../../../components/WidthPlot';
import { floodFigure } from '../floodFigure';
import type { AlarmReports } from '../types';

export default function FloodChart({ report }: { report: AlarmReports }) {
  const figure = useCallback((width: number) => floodFigure(report, width), [report]);
  return <WidthPlot figure={figure} className="flood-chart" height={240} />;
}
