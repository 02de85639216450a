"""API schemas for stored readings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    """One bucket of one sensor (for `raw`, one reading: min = max = avg = the value, count = 1)."""

    ts: datetime
    sensor: str
    min: float
    max: float
    avg: float
    count: int


class History(BaseModel):
    machine_id: str
    bucket: str
    start: datetime
    end: datetime
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
    sensors: dict[str, SeriesPoints]
