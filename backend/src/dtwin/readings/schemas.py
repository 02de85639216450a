"""API schemas for stored readings."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ReadingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ts: datetime
    sensor: str
    value: float
    quality: str


class ReadingList(BaseModel):
    machine_id: str
    items: list[ReadingRead]


class HistoryPoint(BaseModel):
    """One bucket of one sensor (for `raw`, one reading: min = max = avg = first = last = the value,
    count = 1). `first` and `last` are the bucket's earliest and latest readings."""

    ts: datetime
    sensor: str
    min: float
    max: float
    avg: float
    count: int
    first: float
    last: float


class ArchiveRead(BaseModel):
    """The part of an answer read from the archive: those UTC days' raw readings are no longer in the
    database (`rows`: readings read from their files)."""

    days: list[date]
    rows: int


class History(BaseModel):
    machine_id: str
    bucket: str
    start: datetime
    end: datetime
    source: str = Field(
        description="Where the buckets came from: `rollup:<level>` (stored rollups), `rollup:<level>+raw` "
        "(the newest part aggregated from raw readings), `raw`, and `archive+...` when archived days were "
        "aggregated from the archive"
    )
    archive: ArchiveRead | None = None
    truncated: bool = False
    items: list[HistoryPoint]


class ValueAt(BaseModel):
    value: float
    ts: datetime


class StateAt(BaseModel):
    """The reported sensor values as they were at `at`: each sensor's newest reading at or before it."""

    machine_id: str
    at: datetime
    readings: dict[str, ValueAt]


class SeriesPoints(BaseModel):
    """One sensor's downsampled series: times (ISO 8601) and values, in time order."""

    t: list[datetime]
    v: list[float]
    raw_count: int


class Series(BaseModel):
    """Chart-ready series of a machine in [start, end]: per sensor at most `width` points. `source` is `raw`
    when stored readings were downsampled, or the bucket (`1m`/`1h`/`1d`) whose averages (LTTB) or extremes
    (minmax) were used because the window held more readings than are read at once."""

    machine_id: str
    start: datetime
    end: datetime
    method: str
    width: int
    source: str
    archive: ArchiveRead | None = None
    sensors: dict[str, SeriesPoints]
