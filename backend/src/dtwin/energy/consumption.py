"""Consumption from cumulative energy counters: pure numpy (arrays in, arrays out, no I/O), used by the
energy service and benches.

`interval_consumption(ts, readings)` turns sorted readings of one meter's register (kWh) into one
consumption value (kWh, never negative) and one flag per interval (ts[i], ts[i+1]]. With
d = new - previous and plausible = max_power_kw x Δt / 3600 + tolerance_kwh (the most the meter can have
counted in the interval):

- ok: 0 <= d <= plausible → d (a drop within `tolerance_kwh`, register jitter, counts 0).
- rollover: the register dropped and (rollover_kwh - previous + new) is plausible, i.e. it wrapped at its
  maximum → rollover_kwh - previous + new.
- reset: the register dropped to near 0 (new <= plausible) → new (counted since the reset).
- replacement: the register dropped to some other value, or jumped up by more than is plausible (another
  meter's reading) → 0: what the new meter counted since it was fitted is unknowable from its reading.
- gap: an otherwise ok interval longer than `max_gap_s` (readings missing) → d, to be spread evenly over
  the whole span, i.e. linearly interpolated: the bucketing below does exactly that. Flagged as estimated.

Rollover is tested before reset, so a wrap is never taken for a reset; a counter going backwards is a
rollover, reset or replacement, never negative consumption. A flag says why, so callers can show
"estimated" or "meter replaced" instead of silently trusting the number.

`bucket_consumption(ts, consumption, period, tz)` sums intervals into calendar buckets (hour, day, week
from Monday, month) of an IANA time zone. Bucket edges are local midnights (or local hour starts) turned
into instants, so a DST day is 23 h or 25 h long and its buckets hold what was consumed in those hours. An
interval straddling an edge is split pro rata by time (consumption spread evenly over the interval).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]
Flags = npt.NDArray[np.int8]
Period = Literal["hour", "day", "week", "month"]

OK, RESET, ROLLOVER, REPLACEMENT, GAP = 0, 1, 2, 3, 4
FLAG_NAMES: tuple[str, ...] = ("ok", "reset", "rollover", "replacement", "gap")
DEFAULT_ROLLOVER_KWH = 999_999.9
DEFAULT_MAX_POWER_KW = 10_000.0
DEFAULT_MAX_GAP_S = 900.0
DEFAULT_TOLERANCE_KWH = 0.01


class Buckets(NamedTuple):
    """Calendar buckets: start and end instants (Unix seconds), kWh in each, and the part of it that came
    from interpolated (gap) intervals."""

    start: F
    end: F
    kwh: F
    interpolated_kwh: F


def _check_series(ts: npt.ArrayLike, values: npt.ArrayLike, what: str) -> tuple[F, F]:
    t = np.asarray(ts, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.ndim != 1:
        raise ValueError(f"timestamps and {what} must be 1-D arrays")
    if not np.isfinite(t).all() or not np.isfinite(v).all():
        raise ValueError(f"timestamps and {what} must be finite")
    if t.size > 1 and not (np.diff(t) > 0).all():
        raise ValueError("timestamps must be strictly increasing")
    return t, v


def interval_consumption(
    ts: npt.ArrayLike,
    readings: npt.ArrayLike,
    *,
    rollover_kwh: float = DEFAULT_ROLLOVER_KWH,
    max_power_kw: float = DEFAULT_MAX_POWER_KW,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    tolerance_kwh: float = DEFAULT_TOLERANCE_KWH,
) -> tuple[F, Flags]:
    """Consumption (kWh >= 0) and flag (OK, RESET, ROLLOVER, REPLACEMENT, GAP) of each of the n - 1
    intervals between n readings of a cumulative register (`ts` in seconds, strictly increasing); the rules
    are in the module docstring. `max_power_kw` is the most the meter can measure (what makes a jump
    implausible)."""
    t, r = _check_series(ts, readings, "readings")
    if t.size != r.size:
        raise ValueError(f"{t.size} timestamps for {r.size} readings")
    if rollover_kwh <= 0 or max_power_kw <= 0 or max_gap_s <= 0 or tolerance_kwh < 0:
        raise ValueError("rollover_kwh, max_power_kw and max_gap_s must be > 0, tolerance_kwh >= 0")
    if t.size < 2:
        return np.zeros(0), np.zeros(0, dtype=np.int8)
    dt = np.diff(t)
    prev, new = r[:-1], r[1:]
    d = new - prev
    plausible = max_power_kw * dt / 3600.0 + tolerance_kwh
    wrap = rollover_kwh - prev + new

    dropped = d < -tolerance_kwh
    rolled = dropped & (wrap >= 0) & (wrap <= plausible)
    reset = dropped & ~rolled & (new >= 0) & (new <= plausible)
    jumped = ~dropped & (d > plausible)
    replaced = (dropped & ~rolled & ~reset) | jumped
    ok = ~dropped & ~jumped

    kwh = np.select([ok, rolled, reset], [np.maximum(d, 0.0), wrap, new], default=0.0)
    flags = np.select(
        [ok & (dt > max_gap_s), ok, rolled, reset, replaced], [GAP, OK, ROLLOVER, RESET, REPLACEMENT]
    ).astype(np.int8)
    return kwh, flags


def _local_start(moment: datetime, period: Period) -> datetime:
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_local(start: datetime, period: Period, zone: ZoneInfo) -> datetime:
    if period == "hour":  # an hour is 3,600 s of real time, whatever the wall clock does
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    if period == "day":
        naive = start.replace(tzinfo=None) + timedelta(days=1)
    elif period == "week":
        naive = start.replace(tzinfo=None) + timedelta(days=7)
    elif start.month == 12:
        naive = start.replace(tzinfo=None, year=start.year + 1, month=1)
    else:
        naive = start.replace(tzinfo=None, month=start.month + 1)
    return naive.replace(tzinfo=zone)  # local midnight: 23 h or 25 h after the last one across DST


def bucket_edges(t_start: float, t_end: float, period: Period, tz: str) -> F:
    """Instants (Unix seconds) of the calendar bucket boundaries in `tz` from the bucket holding t_start
    to the first boundary at or after t_end."""
    if period not in ("hour", "day", "week", "month"):
        raise ValueError(f"period must be hour, day, week or month, not {period!r}")
    zone = ZoneInfo(tz)
    edge = _local_start(datetime.fromtimestamp(t_start, zone), period)
    edges = [edge.timestamp()]
    while edges[-1] < t_end:
        edge = _next_local(edge, period, zone)
        edges.append(edge.timestamp())
    if len(edges) == 1:
        edges.append(_next_local(edge, period, zone).timestamp())
    return np.asarray(edges)


def bucket_consumption(
    ts: npt.ArrayLike,
    consumption: npt.ArrayLike,
    period: Period,
    tz: str,
    flags: npt.ArrayLike | None = None,
) -> Buckets:
    """Sum the intervals (ts[i], ts[i+1]] with consumption[i] (n timestamps, n - 1 values, e.g. from
    `interval_consumption`) into calendar buckets of `tz`; an interval straddling a boundary is split pro
    rata by time. With `flags`, the kWh of GAP intervals is also summed per bucket (`interpolated_kwh`).
    Every bucket from the first interval's to the last one's is returned, empty ones with 0."""
    t, c = _check_series(ts, consumption, "consumption")
    if t.size != c.size + 1:
        raise ValueError(f"{t.size} timestamps need {t.size - 1} consumption values, got {c.size}")
    if t.size < 2:
        empty = np.zeros(0)
        return Buckets(empty, empty, empty, empty)
    edges = bucket_edges(float(t[0]), float(t[-1]), period, tz)
    interp = np.zeros_like(c)
    if flags is not None:
        f = np.asarray(flags)
        if f.shape != c.shape:
            raise ValueError(f"flags must have one value per interval ({c.size}), got {f.size}")
        interp = np.where(f == GAP, c, 0.0)

    def per_bucket(values: F) -> F:
        # cumulative energy is linear within each interval; a bucket holds its rise between its edges
        cum = np.concatenate(([0.0], np.cumsum(values)))
        return np.diff(np.interp(edges, t, cum))

    return Buckets(edges[:-1], edges[1:], per_bucket(c), per_bucket(interp))
