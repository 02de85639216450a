// Consumption (bars) and cost (line, second axis) per bucket as a Plotly chart. Loaded lazily: Plotly
// is most of the bundle.
import { useEffect, useRef, useState } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config } from 'plotly.js';
import type { Consumption } from '../../../api/types';
import { consumptionFigure } from '../consumptionFigure';

const CONFIG: Partial<Config> = { displaylogo: false, responsive: false, displayModeBar: false };

export default function ConsumptionChart({ data }: { data: Consumption }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    if (typeof ResizeObserver !== 'function') {
      setWidth(element.clientWidth || 600);
      return;
    }
    const observer = new ResizeObserver(([entry]) => {
      const next = Math.floor(entry?.contentRect.width ?? 0);
      if (next > 0) setWidth(next);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const element = ref.current;
    if (!element || width <= 0) return;
    const { data: traces, layout } = consumptionFigure(data, width);
    void Plotly.react(element, traces, layout, CONFIG);
  }, [data, width]);

  useEffect(() => {
    const element = ref.current;
    return () => {
      if (element) Plotly.purge(element);
    };
  }, []);

  return <div ref={ref} className="energy-chart" style={{ height: 280 }} />;
}
