// Windowing for long fixed-height lists: only the rows in (or near) the scroll viewport are
// rendered, so a 1,000-machine fleet costs about as much as a 40-machine one.
import { useEffect, useRef, useState, type RefObject } from 'react';

export interface VirtualRows<E extends HTMLElement> {
  /** Attach to the scrolling container. */
  ref: RefObject<E>;
  start: number;
  end: number;
  /** Space to reserve above and below the rendered rows, in px. */
  padTop: number;
  padBottom: number;
}

/** Used before the first measurement, and in environments without layout (jsdom). */
const FALLBACK_VIEWPORT_PX = 1200;

export function useVirtualRows<E extends HTMLElement>(
  count: number,
  rowHeight: number,
  overscan = 10,
): VirtualRows<E> {
  const ref = useRef<E>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 0 });

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    let frame = 0;
    const measure = (): void => {
      frame = 0;
      const top = element.scrollTop;
      const height = element.clientHeight;
      setViewport((current) =>
        current.top === top && current.height === height ? current : { top, height },
      );
    };
    const schedule = (): void => {
      if (frame === 0) frame = requestAnimationFrame(measure);
    };
    schedule();
    element.addEventListener('scroll', schedule, { passive: true });
    const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(schedule) : null;
    observer?.observe(element);
    return () => {
      element.removeEventListener('scroll', schedule);
      observer?.disconnect();
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, []);

  const height = viewport.height || FALLBACK_VIEWPORT_PX;
  const start = Math.min(count, Math.max(0, Math.floor(viewport.top / rowHeight) - overscan));
  const end = Math.min(count, Math.ceil((viewport.top + height) / rowHeight) + overscan);
  return {
    ref,
    start,
    end,
    padTop: start * rowHeight,
    padBottom: Math.max(0, count - end) * rowHeight,
  };
}
