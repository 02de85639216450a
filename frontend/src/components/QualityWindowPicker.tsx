// The window of a data-quality view (24 h / 7 d / 30 d, ending now), kept in the URL (`?window=`).
import { useSearchParam } from '../hooks/useSearchParam';
import { findQualityWindow, QUALITY_WINDOWS, type QualityWindow } from '../lib/dataQuality';

export function useQualityWindow(): [QualityWindow, (key: string) => void] {
  const [key, setKey] = useSearchParam('window');
  const window = findQualityWindow(key);
  // The first window is the default: no parameter for it.
  return [window, (next) => setKey(next === QUALITY_WINDOWS[0]?.key ? null : next)];
}

export function QualityWindowPicker({
  value,
  onChange,
}: {
  value: QualityWindow;
  onChange: (key: string) => void;
}) {
  return (
    <div className="segmented" role="group" aria-label="Window">
      {QUALITY_WINDOWS.map((w) => (
        <button
          key={w.key}
          type="button"
          aria-pressed={w.key === value.key}
          onClick={() => onChange(w.key)}
        >
          {w.label}
        </button>
      ))}
    </div>
  );
}
