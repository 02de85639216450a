"""From a meter's bucketed counter (first/min/max/last of `energy_kwh` per bucket, from the stored
rollups) to energy per bucket with the counter's events.

Why buckets and not raw readings: a month of a 1 s meter is 2.6 M raw readings, its hourly rollup 744 rows,
and the rollups outlive the raw readings (archive). A bucket's first and last are enough to rebuild the
counter at bucket resolution: its energy is `last - first` plus the step from the previous bucket's last
to its first. A reset inside a bucket shows as last < first; then (for a counter that only rises between
events) max is the value just before the drop and min the value just after, so the series
first, max, min, last is exact for one event per bucket. The step rules (reset, rollover, replacement,
gap) are the meters module's (consumption.interval_consumption), applied to that series with synthetic
times: the meter's reading interval estimated over the rows, each bucket's readings that far apart and
centred in it (counter_series), max and min one interval apart in the middle. So every step of the series
lasts about what it lasted between real readings (one reading interval between buckets and across an
in-bucket reset, which is what the plausibility tests need), and a step across missing buckets lasts more
than a bucket: `max_gap_s` = one bucket marks it a gap. Energy is then spread over the buckets by time: a
gap's step linearly over the missing buckets (interpolated), a boundary step over the time it spans, so a
quarter-hour of a meter read every 10 minutes gets 15 minutes of energy, not 10 or 20."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from dtwin.energy.consumption import GAP, REPLACEMENT, RESET, ROLLOVER, interval_consumption
from dtwin.readings.rollups import Agg

FLAGS = ("resets", "rollovers", "replacements", "interpolated")


@dataclass(slots=True)
class Energy:
    """Energy and counter events per bucket start (UTC), in time order."""

    kwh: dict[datetime, float] = field(default_factory=dict)
    flags: dict[datetime, dict[str, int]] = field(default_factory=dict)

    def add(self, ts: datetime, kwh: float, flag: str | None = None) -> None:
        self.kwh[ts] = self.kwh.get(ts, 0.0) + kwh
        if flag is not None:
            got = self.flags.setdefault(ts, dict.fromkeys(FLAGS, 0))
            got[flag] += 1


_KIND_FLAG = {RESET: "resets", ROLLOVER: "rollovers", REPLACEMENT: "replacements"}


def counter_series(
    rows: Sequence[Agg], width_s: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The counter as (times in Unix seconds, values) rebuilt from bucket rows (oldest first).

    The meter's reading interval is estimated over all rows (width x rows / readings: a meter read every
    10 minutes has 15-minute buckets of 2 and 1 readings, whose own estimates, 450 s and 900 s, are both
    wrong), and each bucket's readings are placed that far apart, centred in the bucket. So a step between
    buckets lasts one reading interval, and energy spread by time lands in the right quarter-hour."""
    readings = sum(max(r.count, 1) for r in rows)
    interval = min(width_s * len(rows) / max(readings, 1), width_s)
    ts: list[float] = []
    values: list[float] = []
    for r in rows:
        t0 = r.ts.timestamp()
        c = max(r.count, 1)
        span = min((c - 1) * interval, width_s * (1 - 0.5 / c))  # a margin to the bucket's edges
        first, last, mid = t0 + (width_s - span) / 2, t0 + (width_s + span) / 2, t0 + width_s / 2
        if span == 0.0:  # one reading
            ts.append(mid)
            values.append(r.last)
        elif r.last >= r.first:
            ts += [first, last]
            values += [r.first, r.last]
        else:  # an event inside the bucket: up to max, one reading later down to min
            step = min(interval, span / 3)
            ts += [first, mid - step / 2, mid + step / 2, last]
            values += [r.first, r.max, r.min, r.last]
    return np.asarray(ts), np.asarray(values)


def bucket_energy(rows: Sequence[Agg], width_s: float, start: datetime, into: Energy | None = None) -> Energy:
    """Energy per fixed-width bucket (aligned on the Unix epoch, as the rollups are) from `start` on, of
    one counter's bucket rows (oldest first); rows before `start` give the value the first step starts
    from. Flags count where each event's interval ends; `interpolated` counts buckets that got energy from
    a gap."""
    out = into if into is not None else Energy()
    if not rows:
        return out
    t, v = counter_series(rows, width_s)
    kwh, flags = interval_consumption(t, v, max_gap_s=width_s)
    lo = rows[0].ts.timestamp()
    edges = np.arange(lo, rows[-1].ts.timestamp() + 2 * width_s, width_s)
    cum = np.concatenate(([0.0], np.cumsum(kwh)))
    per = np.diff(np.interp(edges, t, cum))
    gap_cum = np.concatenate(([0.0], np.cumsum(np.where(flags == GAP, kwh, 0.0))))
    gap_per = np.diff(np.interp(edges, t, gap_cum))
    has_data = {r.ts.timestamp() for r in rows}
    first = start.timestamp()
    for k, e in enumerate(edges[:-1]):
        if e < first or (e not in has_data and per[k] <= 0 and gap_per[k] <= 0):
            continue
        ts = datetime.fromtimestamp(float(e), UTC)
        out.add(ts, float(per[k]), "interpolated" if gap_per[k] > 0 and e not in has_data else None)
    for k, f in enumerate(flags):
        name = _KIND_FLAG.get(int(f))
        if name is not None and t[k + 1] >= first:
            out.add(datetime.fromtimestamp(lo + width_s * ((t[k + 1] - lo) // width_s), UTC), 0.0, name)
    return out
