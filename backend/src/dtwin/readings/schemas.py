"""API schemas for stored readings."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from dtwin.anomalies.schemas import AnomalyEventRead, DecisionRead
from dtwin.twins.schemas import TwinStateAt


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


class AnalyticsAt(BaseModel):
    """The analytics as of the instant, from what is stored: the anomaly episode open then and the
    maintenance decision in force. Health and the anomaly score are not stored over time (the twin holds
    only their live values), so they are not part of the past state."""

    anomaly: AnomalyEventRead | None = Field(
        description="The newest event of the anomaly episode open at the instant (null: none open)"
    )
    decision: DecisionRead | None = Field(
        description="The newest decision at or before the instant: its `strategy` is the one in force (a "
        "decision is stored each time the strategy changes); null before the first"
    )


class StateAt(TwinStateAt):
    """The twin as it was at `at`: each sensor's newest stored reading at or before it (`readings`), and the
    rest of the twin rebuilt from its change log and the stored analytics (see TwinStateAt's fields)."""

    machine_id: str
    at: datetime
    readings: dict[str, ValueAt] = Field(
        description="Each sensor's newest stored reading at or before `at` (device time); readings "
        "archived past the raw retention are not read, so long ago a sensor may be missing"
    )
    analytics: AnalyticsAt


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
