// One URL query parameter as React state (e.g. the selected machine, `?machine=pump-0001`),
// kept in sync with back/forward navigation. No router needed for a single page.
import { useCallback, useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (listeners.size === 1) window.addEventListener('popstate', notifyAll);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) window.removeEventListener('popstate', notifyAll);
  };
}

function notifyAll(): void {
  for (const listener of listeners) listener();
}

export function useSearchParam(name: string): [string | null, (value: string | null) => void] {
  const value = useSyncExternalStore(subscribe, () =>
    new URLSearchParams(window.location.search).get(name),
  );
  const setValue = useCallback(
    (next: string | null) => {
      const url = new URL(window.location.href);
      if (next === null) url.searchParams.delete(name);
      else url.searchParams.set(name, next);
      if (url.href === window.location.href) return;
      window.history.pushState(null, '', url);
      notifyAll();
    },
    [name],
  );
  return [value, setValue];
}
