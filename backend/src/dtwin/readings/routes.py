"""Stored readings of one machine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import Field

from dtwin.anomalies.service import AnomalyHistory
from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.contracts.inputs import Instant
from dtwin.contracts.limits import SENSOR_PATTERN
from dtwin.contracts.telemetry import iso_utc
from dtwin.core.deps import AdaptersDep, SessionDep, SettingsDep
from dtwin.core.http import From, MachineId, Sensor, To, window
from dtwin.errors import InvalidInput, problem_responses
from dtwin.lifecycle.deps import MaybeLifecycleDep
from dtwin.readings.charts import build_series
from dtwin.readings.history import NOMINAL_S, ArchivePart, auto_resolution, window_of
from dtwin.readings.history import History as History_
from dtwin.readings.repository import ReadingRepository
from dtwin.readings.schemas import (
    AnalyticsAt,
    History,
    ReadingList,
    ReadingRead,
    Series,
    StateAt,
    ValueAt,
)
from dtwin.twins.deps import TwinServiceDep

DEFAULT_SPAN = {
    "raw": timedelta(hours=1),
    "10s": timedelta(hours=6),
    "1m": timedelta(days=1),
    "5m": timedelta(days=3),
    "15m": timedelta(days=7),
    "1h": timedelta(days=30),
    "6h": timedelta(days=90),
    "1d": timedelta(days=365),
    "1w": timedelta(days=3 * 365),
    "1mo": timedelta(days=5 * 365),
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
    settings: SettingsDep,
    lifecycle: MaybeLifecycleDep,
    sensor: Sensor = None,
    from_: From = None,
    to: To = None,
    bucket: Annotated[
        Literal["raw", "auto", "10s", "1m", "5m", "15m", "1h", "6h", "1d", "1w", "1mo"],
        Query(
            description="Bucket width (1d, 1w, 1mo: calendar days, ISO weeks and months in the plant's "
            "zone), `raw`, or `auto`: the finest with at most `points` buckets per sensor"
        ),
    ] = "1m",
    points: Annotated[
        int, Query(ge=10, le=10_000, description="With bucket=auto: most buckets per sensor")
    ] = 500,
    limit: Annotated[int, Query(ge=1, le=100_000, description="Most points returned")] = 10_000,
) -> Response:
    """A machine's history in [from, to] (default: the last hour for raw, a day for 1m, 30 days for 1h, a
    year for 1d): min/max/avg/count/first/last per bucket and sensor, oldest first (readings of quality
    `bad` are in no bucket). Buckets are whole: the window is widened to the buckets it touches (`start`,
    `end` say to what). They come from the stored rollup of the coarsest level that gives the resolution
    (`source`); days whose raw readings were archived are read from the archive where needed (`archive`)."""
    await twins.ensure_exists(machine_id)
    tz = settings.plant_tz
    if bucket == "raw":
        start, end = window(from_, to, DEFAULT_SPAN["raw"])
        raw, part = await History_(session, lifecycle, tz).raw(
            machine_id, sensor=sensor, start=start, end=end, limit=limit
        )
        points_ = [
            {"ts": ts, "sensor": s, "min": v, "max": v, "avg": v, "count": 1, "first": v, "last": v}
            for ts, s, v, _q in raw
        ]
        return _history_json(machine_id, "raw", start, end, "raw", part, False, points_)
    if bucket == "auto":
        start, end = window(from_, to, DEFAULT_SPAN["1h"])
        resolution = auto_resolution(start, end, points)
    else:
        resolution = bucket
        start, end = window(from_, to, DEFAULT_SPAN.get(bucket, DEFAULT_SPAN["1h"]))
    start, end = window_of(resolution, start, end, tz)
    buckets = (end - start).total_seconds() / NOMINAL_S[resolution]
    if buckets > limit:
        raise InvalidInput(
            f"{buckets:,.0f} {resolution} buckets per sensor in the window; at most {limit:,} "
            "(a coarser bucket, bucket=auto, or a shorter window)"
        )
    aggs, source, part = await History_(session, lifecycle, tz).buckets(
        machine_id, resolution, sensor=sensor, start=start, end=end
    )
    points_ = [
        {
            "ts": a.ts,
            "sensor": a.sensor,
            "min": a.min,
            "max": a.max,
            "avg": a.sum / a.count,
            "count": a.count,
            "first": a.first,
            "last": a.last,
        }
        for a in aggs[:limit]
    ]
    return _history_json(machine_id, resolution, start, end, source, part, len(aggs) > limit, points_)


def _history_json(
    machine_id: str,
    bucket: str,
    start: datetime,
    end: datetime,
    source: str,
    part: ArchivePart | None,
    truncated: bool,
    items: list[dict[str, Any]],
) -> Response:
    """A `History` written straight to JSON: a 90-day hourly history is 17,280 points, and building and
    re-validating that many models cost more than the query (the schema is the response_model's)."""
    body = {
        "machine_id": machine_id,
        "bucket": bucket,
        "start": start,
        "end": end,
        "source": source,
        "archive": None if part is None else {"days": part.days, "rows": part.rows},
        "truncated": truncated,
        "items": items,
    }
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")


@router.get("/{machine_id}/series", response_model=Series, responses=problem_responses(404, 422))
async def series(
    machine_id: MachineId,
    session: SessionDep,
    twins: TwinServiceDep,
    settings: SettingsDep,
    lifecycle: MaybeLifecycleDep,
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
        session,
        machine_id,
        start=start,
        end=end,
        width=width,
        method=method,
        sensors=sensor,
        tz=settings.plant_tz,
        archive=lifecycle,
    )


@router.get("/{machine_id}/at", response_model=StateAt, responses=problem_responses(404, 422))
async def state_at(
    machine_id: MachineId,
    session: SessionDep,
    twins: TwinServiceDep,
    ts: Annotated[Instant, Query(description="The past instant, ISO 8601 with zone (not in the future)")],
) -> StateAt:
    """The whole twin as it was at `ts`: each sensor's newest stored reading at or before it; reported
    settings, attributes, desired state and version, and the command's outcome rebuilt from the change log
    (`/events`); the status computed from the newest device time heard then and the expected interval then;
    the anomaly episode open and the maintenance decision in force then (health is not stored over time).
    404 when the twin does not exist, or did not exist at `ts` (before its first change-log entry with
    nothing heard from the machine by then, or deleted then); 422 for a `ts` in the future."""
    await twins.ensure_exists(machine_id)
    rows = await ReadingRepository(session).state_at(machine_id, ts)
    twin = await twins.state_at(machine_id, ts, max((r.ts for r in rows), default=None))
    history = AnomalyHistory(session)
    analytics = AnalyticsAt(
        anomaly=await history.open_episode_at(machine_id, ts),
        decision=await history.decision_at(machine_id, ts),
    )
    return StateAt(
        **dict(twin),
        machine_id=machine_id,
        at=ts,
        readings={r.sensor: ValueAt(value=r.value, ts=r.ts) for r in rows},
        analytics=analytics,
    )


@router.get(
    "/{machine_id}/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "timestamp,sensor,value,quality",
            "headers": {
                "X-Archive-Days": {"description": "Days read from the archive", "schema": {"type": "string"}}
            },
        },
        **problem_responses(404, 422),
    },
)
async def export_csv(
    machine_id: MachineId,
    adapters: AdaptersDep,
    session: SessionDep,
    settings: SettingsDep,
    lifecycle: MaybeLifecycleDep,
    twins: TwinServiceDep,
    sensor: Sensor = None,
    from_: From = None,
    to: To = None,
) -> StreamingResponse:
    """A machine's raw readings in [from, to] (default: everything) as CSV `timestamp,sensor,value,quality`,
    streamed in chunks, never built in memory; days whose readings are archived are read from the archive
    (listed in the `X-Archive-Days` header)."""
    await twins.ensure_exists(machine_id)
    if from_ is not None and to is not None and from_ > to:
        raise InvalidInput("'from' must not be after 'to'")

    reader = History_(session, lifecycle, settings.plant_tz)
    archived = await reader.archived_in(from_, to)

    async def rows() -> AsyncIterator[bytes]:
        yield b"timestamp,sensor,value,quality\n"
        async with adapters.sessions() as stream_session:
            async for chunk in History_(stream_session, lifecycle, settings.plant_tz).stream(
                machine_id, sensor=sensor, start=from_, end=to
            ):
                yield "".join(f"{iso_utc(ts)},{s},{v!r},{q}\n" for ts, s, v, q in chunk).encode()

    filename = f"{machine_id}-readings.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if archived:  # which days were read from the archive
        headers["X-Archive-Days"] = ",".join(d.isoformat() for d in archived)
    return StreamingResponse(rows(), media_type="text/csv", headers=headers)
