"""Alarm-management reports (ISA-18.2 / EEMUA 191): alarm floods (more than 10 alarms in 10 minutes per
operator position; here per site), the most frequent alarms (the "bad actors") and chattering alarms (3 or
more activations within 60 seconds). Pure functions over the raised-alarm events of a period, vectorised per
group with numpy; also what a rule preview reports of the alarms a draft rule would have raised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

FLOOD_WINDOW_S = 600.0
FLOOD_THRESHOLD = 10  # ISA-18.2: more than 10 alarms in 10 minutes is a flood
CHATTER_WINDOW_S = 60.0
CHATTER_COUNT = 3  # activations within the window that make an alarm chattering


def max_in_window(ts: Sequence[float], window_s: float) -> int:
    """The most timestamps (sorted) that fall within any `window_s` span."""
    if not ts:
        return 0
    t = np.asarray(ts, dtype=np.float64)
    ends = np.searchsorted(t, t + window_s, side="left")
    return int(np.max(ends - np.arange(t.shape[0])))


def flood(raised: Sequence[tuple[datetime, str | None]], start: datetime, end: datetime) -> dict[str, object]:
    """Alarms per 10-minute window per site (windows on the clock's 10-minute boundaries, those with alarms
    only), how many windows were floods, and the share of the period's windows (per site seen) in flood."""
    counts: Counter[tuple[str | None, int]] = Counter()
    # windows on the clock's 10-minute boundaries (the same bars on every refresh), from the one holding start
    t0 = (start.timestamp() // FLOOD_WINDOW_S) * FLOOD_WINDOW_S
    for ts, site in raised:
        counts[(site, int((ts.timestamp() - t0) // FLOOD_WINDOW_S))] += 1
    windows = [
        {
            "site": site,
            "start": datetime.fromtimestamp(t0 + k * FLOOD_WINDOW_S, UTC),
            "alarms": n,
            "flood": n > FLOOD_THRESHOLD,
        }
        for (site, k), n in sorted(counts.items(), key=lambda x: (x[0][1], x[0][0] or ""))
    ]
    floods = sum(1 for w in windows if w["flood"])
    sites = len({site for site, _ in counts}) or 1
    total = max(1, int(np.ceil((end.timestamp() - t0) / FLOOD_WINDOW_S))) * sites
    return {
        "threshold": FLOOD_THRESHOLD,
        "window_s": FLOOD_WINDOW_S,
        "windows": windows,
        "flood_windows": floods,
        "percent_time_in_flood": round(100.0 * floods / total, 2),
    }


def frequent(raised: Sequence[tuple[str, str]], top: int = 10) -> list[dict[str, object]]:
    """The `top` (machine, condition) pairs by alarms raised."""
    return [{"machine_id": m, "condition": c, "count": n} for (m, c), n in Counter(raised).most_common(top)]


def chattering(raised: Sequence[tuple[datetime, str, str]]) -> list[dict[str, object]]:
    """(machine, condition) pairs with CHATTER_COUNT or more activations within CHATTER_WINDOW_S, worst
    first."""
    groups: dict[tuple[str, str], list[float]] = {}
    for ts, machine, condition in raised:
        groups.setdefault((machine, condition), []).append(ts.timestamp())
    out = []
    for (machine, condition), stamps in groups.items():
        stamps.sort()
        worst = max_in_window(stamps, CHATTER_WINDOW_S)
        if worst >= CHATTER_COUNT:
            out.append(
                {
                    "machine_id": machine,
                    "condition": condition,
                    "activations": len(stamps),
                    "max_in_60s": worst,
                }
            )
    out.sort(key=lambda x: (-int(x["max_in_60s"]), -int(x["activations"])))  # type: ignore[call-overload]
    return out


def period(hours: float, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = now or datetime.now(UTC)
    return end - timedelta(hours=hours), end
