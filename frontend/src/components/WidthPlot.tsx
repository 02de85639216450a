// A Plotly figure as wide as its container: drawn again when the container's width or the figure
// changes, purged when unmounted. Import it only from modules that are loaded lazily: Plotly is most of
// the bundle.
import { useEffect, useRef, useState } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config, Data, Layout } from 'plotly.js';

const CONFIG: Partial<Config> = { displaylogo: false, responsive: false, displayModeBar: false };

export interface WidthPlotProps {
  /** The figure for a width in pixels; keep it stable (useCallback) or every render redraws. */
  figure: (width: number) => { data: Data[]; layout: Partial<Layout> };
  className: string;
  height: number;
}

export default function WidthPlot({ figure, className, height }: WidthPlotProps) {
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
    const { data, layout } = figure(width);
    void Plotly.react(element, data, layout, CONFIG);
  }, [figure, width]);

  useEffect(() => {
    const element = ref.current;
    return () => {
      if (element) Plotly.purge(element);
    };
  }, []);

  return <div ref={ref} className={className} style={{ height }} />;
}
