"""Stored readings of one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.contracts.inputs import Instant
from dtwin.contracts.limits import SENSOR_PATTERN
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.deps import AdaptersDep, SessionDep
from dtwin.core.http import From, MachineId, Sensor, To, window
from dtwin.errors import InvalidInput, problem_responses
from dtwin.readings.charts import build_series
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.schemas import (
    History,
    HistoryPoint,
    ReadingList,
    ReadingRead,
    Series,
    StateAt,
    ValueAt,
)
from dtwin.twins.deps import TwinServiceDep

DEFAULT_SPAN = {
    "raw": timedelta(hours=1),
    "1m": timedelta(days=1),
    "1h": timedelta(days=30),
    "1d": timedelta(days=365),
}
SensorName = Annotated[str, Field(pattern=SENSOR_PATTERN)]

router = APIRouter(prefix="/twins", tags=["readings"], dependencies=[allow(Role.viewer)])


@router.get("/{machine_id}/readings", response_model=ReadingList, responses=problem_responses(404, 422))
async def list_readings(
    machine_id: MachineId,
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
    machine_id: MachineId,
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


@router.get("/{machine_id}/series", response_model=Series, responses=problem_responses(404, 422))
async def series(
    machine_id: MachineId,
    session: SessionDep,
    twins: TwinServiceDep,
    sensor: Annotated[
        list[SensorName] | None, Query(max_length=64, description="Sensors (repeatable); default all")
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
    return await build_series(
        session, machine_id, start=start, end=end, width=width, method=method, sensors=sensor
    )


@router.get("/{machine_id}/at", response_model=StateAt, responses=problem_responses(404, 422))
async def state_at(
    machine_id: MachineId,
    session: SessionDep,
    twins: TwinServiceDep,
    ts: Annotated[Instant, Query(description="The past instant, ISO 8601 with zone")],
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
    machine_id: MachineId,
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
