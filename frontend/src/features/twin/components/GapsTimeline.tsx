// The machine's data gaps over the window as a Plotly timeline (horizontal bars from each gap's
// start to its end). Loaded lazily: Plotly is most of the bundle.
import { useEffect, useRef, useState } from 'react';
import Plotly from 'plotly.js-basic-dist-min';
import type { Config } from 'plotly.js';
import type { DataGap } from '../../../api/types';
import { gapsFigure, TIMELINE_HEIGHT } from '../gapsFigure';

const CONFIG: Partial<Config> = { displaylogo: false, responsive: false, displayModeBar: false };

export interface GapsTimelineProps {
  gaps: readonly DataGap[];
  /** The window drawn (the API's start and end). */
  start: string;
  end: string;
}

export default function GapsTimeline({ gaps, start, end }: GapsTimelineProps) {
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
    const { data, layout } = gapsFigure(gaps, { start, end }, width);
    void Plotly.react(element, data, layout, CONFIG);
  }, [gaps, start, end, width]);

  useEffect(() => {
    const element = ref.current;
    return () => {
      if (element) Plotly.purge(element);
    };
  }, []);

  return <div ref={ref} className="gaps-timeline" style={{ height: TIMELINE_HEIGHT }} />;
}
