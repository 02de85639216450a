// Consumption (bars) and cost (line, second axis) per bucket as a Plotly chart. Loaded lazily: Plotly
// is most of the bundle.
import { useCallback } from 'react';
import type { Consumption } from '../../../api/types';
import WidthPlot from '../../../components/WidthPlot';
import { consumptionFigure } from '../consumptionFigure';

export default function ConsumptionChart({ data }: { data: Consumption }) {
  const figure = useCallback((width: number) => consumptionFigure(data, width), [data]);
  return <WidthPlot figure={figure} className="energy-chart" height={280} />;
}
