// Consumption (bars) and cost (line, second axis) per bucket as a Plotly chart, with a meter's
// forecast after hourly buckets. Loaded lazily: Plotly is most of the bundle.
import { useCallback } from 'react';
import type { Consumption, EnergyForecast } from '../../../api/types';
import WidthPlot from '../../../components/WidthPlot';
import { consumptionFigure } from '../consumptionFigure';

export default function ConsumptionChart({
  data,
  forecast = null,
}: {
  data: Consumption;
  forecast?: EnergyForecast | null;
}) {
  const figure = useCallback(
    (width: number) => consumptionFigure(data, width, forecast),
    [data, forecast],
  );
  return <WidthPlot figure={figure} className="energy-chart" height={280} />;
}
