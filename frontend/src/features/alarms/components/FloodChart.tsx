// Alarms per 10 minutes per site as a Plotly bar chart with the flood threshold marked. Loaded
// lazily: Plotly is most of the bundle.
import { useEffect, useRef, useState } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config } from 'plotly.js';
import { floodFigure } from '../floodFigure';
import type { AlarmReports } from '../types';

const CONFIG: Partial<Config> = { displaylogo: false, responsive: false, displayModeBar: false };

export default function FloodChart({ report }: { report: AlarmReports }) {
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
    const { data, layout } = floodFigure(report, width);
    void Plotly.react(element, data, layout, CONFIG);
  }, [report, width]);

  useEffect(() => {
    const element = ref.current;
    return () => {
      if (element) Plotly.purge(element);
    };
  }, []);

  return <div ref={ref} className="flood-chart" style={{ height: 240 }} />;
}
