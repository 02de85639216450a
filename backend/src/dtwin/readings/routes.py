"""Stored readings of one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from dtwin.api.deps import AdaptersDep, SessionDep, TwinServiceDep
from dtwin.api.params import From, To, window
from dtwin.contracts.telemetry import iso_utc
from dtwin.errors import InvalidInput, problem_responses
from dtwin.readings.downsample import lttb, minmax
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.schemas import (
    History,
    HistoryPoint,
    ReadingList,
    ReadingRead,
    Series,
    SeriesPoints,
    StateAt,
    ValueAt,
)

DEFAULT_SPAN = {
    "raw": timedelta(hours=1),
    "1m": timedelta(days=1),
    "1h": timedelta(days=30),
    "1d": timedelta(days=365),
}
Sensor = Annotated[str | None, Query(max_length=64, description="Only this sensor")]

router = APIRouter(prefix="/twins", tags=["readings"])


@router.get("/{machine_id}/readings", response_model=ReadingList, responses=problem_responses(404, 422))
async def list_readings(
    machine_id: str,
    session: SessionDep,
    twins: TwinServiceDep,
    sensor: Sensor = None,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ReadingList:
    """The newest `limit` readings of a machine within [from, to], returned oldest first."""
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput("'from' must not be after 'to'")
    await twins.ensure_exists(machine_id)
    start: datetime | None = from_
    rows = await ReadingRepository(session).recent(
        machine_id, sensor=sensor, start=start, end=to, limit=limit
    )
    return ReadingList(machine_id=machine_id, items=[ReadingRead.model_validate(r) for r in rows])


@router.get("/{machine_id}/history", response_model=History, responses=problem_responses(404, 422))
async def history(
    machine_id: str,
    session: SessionDep,
    twins: TwinServiceDep,
    sensor: Sensor = None,
    from_: From = None,
    to: To = None,
    bucket: Annotated[Literal["raw", "1m", "1h", "1d"], Query(description="Bucket width, or raw")] = "1m",
    limit: Annotated[int, Query(ge=1, le=100_000, description="Most points returned")] = 10_000,
) -> History:
    """A machine's history in [from, to] (default: the last hour for raw, a day for 1m, 30 days for 1h, a
    year for 1d): min/max/avg/count per bucket and sensor, oldest first. Buckets use TimescaleDB
    `time_bucket` when the extension is present, `date_bin` on plain PostgreSQL, `strftime` on SQLite."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, DEFAULT_SPAN[bucket])
    repo = ReadingRepository(session)
    if bucket == "raw":
        rows = await repo.recent(machine_id, sensor=sensor, start=start, end=end, limit=limit)
        items = [
            HistoryPoint(ts=r.ts, sensor=r.sensor, min=r.value, max=r.value, avg=r.value, count=1)
            for r in rows
        ]
    else:
        buckets = await repo.buckets(
            machine_id, bucket=bucket, sensor=sensor, start=start, end=end, limit=limit
        )
        items = [
            HistoryPoint(ts=b.ts, sensor=b.sensor, min=b.min, max=b.max, avg=b.avg, count=b.count)
            for b in buckets
        ]
    return History(machine_id=machine_id, bucket=bucket, start=start, end=end, items=items)


RAW_CAP = 200_000  # raw readings read at once for a series; more and bucketed history is downsampled instead


@router.get("/{machine_id}/series", response_model=Series, responses=problem_responses(404, 422))
async def series(
    machine_id: str,
    session: SessionDep,
    twins: TwinServiceDep,
    sensor: Annotated[
        list[str] | None, Query(max_length=64, description="Sensors (repeatable); default all")
    ] = None,
    from_: From = None,
    to: To = None,
    width: Annotated[int, Query(ge=10, le=10_000, description="Chart width in pixels")] = 800,
    method: Annotated[Literal["lttb", "minmax"], Query(description="Downsampling method")] = "lttb",
) -> Series:
    """A machine's history in [from, to] (default: the last hour) downsampled on the server for a chart of
    `width` pixels: per sensor at most `width` points chosen by LTTB (the line's shape), or the minimum and
    maximum of each pixel column (`minmax`: no spike hidden)."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, timedelta(hours=1))
    repo = ReadingRepository(session)
    wanted = set(sensor) if sensor else None
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
                if (
                    method == "minmax"
                ):  # both extremes, at the bucket time (a bucket is narrower than a pixel)
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


@router.get("/{machine_id}/at", response_model=StateAt, responses=problem_responses(404, 422))
async def state_at(
    machine_id: str,
    session: SessionDep,
    twins: TwinServiceDep,
    ts: Annotated[AwareDatetime, Query(description="The past instant, ISO 8601 with zone")],
) -> StateAt:
    """The sensor values as they were at `ts`: for each sensor, its newest stored reading at or before it."""
    await twins.ensure_exists(machine_id)
    rows = await ReadingRepository(session).state_at(machine_id, ts)
    return StateAt(
        machine_id=machine_id, at=ts, readings={r.sensor: ValueAt(value=r.value, ts=r.ts) for r in rows}
    )


@router.get(
    "/{machine_id}/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "timestamp,sensor,value,quality"},
        **problem_responses(404, 422),
    },
)
async def export_csv(
    machine_id: str,
    adapters: AdaptersDep,
    twins: TwinServiceDep,
    sensor: Sensor = None,
    from_: From = None,
    to: To = None,
) -> StreamingResponse:
    """A machine's raw readings in [from, to] (default: everything) as CSV `timestamp,sensor,value,quality`,
    streamed in chunks, never built in memory."""
    await twins.ensure_exists(machine_id)
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput("'from' must not be after 'to'")

    async def rows() -> AsyncIterator[bytes]:
        yield b"timestamp,sensor,value,quality\n"
        async with adapters.sessions() as session:
            async for chunk in ReadingRepository(session).stream(
                machine_id, sensor=sensor, start=from_, end=to
            ):
                yield "".join(f"{iso_utc(r.ts)},{r.sensor},{r.value!r},{r.quality}\n" for r in chunk).encode()

    filename = f"{machine_id}-readings.csv"
    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
