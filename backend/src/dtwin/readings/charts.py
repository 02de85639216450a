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
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.schemas import Series, SeriesPoints

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
) -> Series:
    """Per sensor at most `width` points (LTTB) or a min/max pair per pixel column; from raw readings, or
    from 1-minute/hourly/daily buckets when the window holds more than RAW_CAP readings."""
    repo = ReadingRepository(session)
    wanted = set(sensors) if sensors else None
    columns: dict[str, tuple[list[float], list[float]]] = {}
    rows = await repo.recent(machine_id, sensor=None, start=start, end=end, limit=RAW_CAP + 1)
    source = "raw"
    if len(rows) <= RAW_CAP:
        for r in rows:
            if wanted is None or r.sensor in wanted:
                col = columns.setdefault(r.sensor, ([], []))
                col[0].append(r.ts.timestamp())
                col[1].append(r.value)
        counts = {s: len(c[0]) for s, c in columns.items()}
    else:
        span = (end - start).total_seconds()
        source = next((b for b, w in (("1m", 60), ("1h", 3600)) if span / w <= RAW_CAP / 8), "1d")
        buckets = await repo.buckets(
            machine_id, bucket=source, sensor=None, start=start, end=end, limit=RAW_CAP * 4
        )
        counts = {}
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
    for name, (ts, vs) in sorted(columns.items()):
        t, v = pick(np.asarray(ts, dtype=np.float64), np.asarray(vs, dtype=np.float64), width)
        out[name] = SeriesPoints(
            t=[datetime.fromtimestamp(x, UTC) for x in t.tolist()], v=v.tolist(), raw_count=counts[name]
        )
    return Series(
        machine_id=machine_id, start=start, end=end, method=method, width=width, source=source, sensors=out
    )
