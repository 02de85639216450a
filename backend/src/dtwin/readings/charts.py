"""Chart-ready series: a machine's readings in a window, downsampled on the server for a chart of `width`
pixels (LTTB, or min and max per pixel column). Used by `GET /twins/{id}/series` and by the WebSocket's
`series` stream (its snapshot)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.readings.downsample import lttb, minmax
from dtwin.readings.history import ArchiveIndex, History, auto_resolution, window_of
from dtwin.readings.schemas import ArchiveRead, Series, SeriesPoints

RAW_CAP = 200_000  # raw readings read at once for a series; more and bucketed history is downsampled instead

Method = Literal["lttb", "minmax"]


async def build_series(
    session: AsyncSession,
    machine_id: str,
    *,
    start: datetime,
    end: datetime,
    width: int,
    method: Method,
    sensors: Collection[str] | None = None,
    tz: str = "UTC",
    archive: ArchiveIndex | None = None,
) -> Series:
    """Per sensor at most `width` points (LTTB) or a min/max pair per pixel column. The window's buckets at
    the finest resolution with at most `width` per sensor are read first (from the stored rollups); if they
    hold no more than RAW_CAP readings those readings are drawn, else the buckets are (a year of one machine
    reads 365 daily buckets per sensor, never its raw readings)."""
    wanted = set(sensors) if sensors else None
    columns: dict[str, tuple[list[float], list[float]]] = {}
    counts: dict[str, int] = {}
    history = History(session, archive, tz)
    resolution = auto_resolution(start, end, width)
    lo, hi = window_of(resolution, start, end, tz)
    buckets, _src, part = await history.buckets(machine_id, resolution, sensor=None, start=lo, end=hi)
    held = sum(b.count for b in buckets if wanted is None or b.sensor in wanted)
    source = "raw" if held <= RAW_CAP else resolution
    if source == "raw":  # few enough readings: draw them, not their buckets
        raw, part = await history.raw(machine_id, sensor=None, start=start, end=end, limit=RAW_CAP * 2)
        for at, name, value, _q in raw:
            if wanted is None or name in wanted:
                col = columns.setdefault(name, ([], []))
                col[0].append(at.timestamp())
                col[1].append(value)
        counts = {s: len(c[0]) for s, c in columns.items()}
    else:
        for b in buckets:
            if wanted is None or b.sensor in wanted:
                col = columns.setdefault(b.sensor, ([], []))
                counts[b.sensor] = counts.get(b.sensor, 0) + b.count
                # minmax: both extremes, at the bucket time (a bucket is narrower than a pixel)
                if method == "minmax":
                    col[0].extend((b.ts.timestamp(), b.ts.timestamp() + 1e-3))
                    col[1].extend((b.min, b.max))
                else:
                    col[0].append(b.ts.timestamp())
                    col[1].append(b.avg)
    pick = lttb if method == "lttb" else minmax
    out: dict[str, SeriesPoints] = {}
    for name, (times, vs) in sorted(columns.items()):
        t, v = pick(np.asarray(times, dtype=np.float64), np.asarray(vs, dtype=np.float64), width)
        out[name] = SeriesPoints(
            t=[datetime.fromtimestamp(x, UTC) for x in t.tolist()], v=v.tolist(), raw_count=counts[name]
        )
    return Series(
        machine_id=machine_id,
        start=start,
        end=end,
        method=method,
        width=width,
        source=source,
        archive=None if part is None else ArchiveRead(days=part.days, rows=part.rows),
        sensors=out,
    )
