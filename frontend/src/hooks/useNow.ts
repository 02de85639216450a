// A clock that re-renders its user every `intervalMs`, for ages and staleness.
import { useEffect, useState } from 'react';

export function useNow(intervalMs: number, now: () => number = Date.now): number {
  const [time, setTime] = useState(now);
  useEffect(() => {
    const timer = setInterval(() => setTime(now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, now]);
  return time;
}
