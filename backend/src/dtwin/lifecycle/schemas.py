"""API schemas of the data lifecycle: its status and the archive."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class PartitionRead(BaseModel):
    name: str
    start: datetime | None  # None: from the beginning (MINVALUE, or the DEFAULT partition)
    end: datetime | None
    default: bool


class RefreshRead(BaseModel):
    at: datetime | None
    watermark: datetime | None
    raw_rows: int
    late_buckets: int
    seconds: float


class ArchivedDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    state: str
    rows: int
    bytes: int
    sha256: str
    digest: str
    uri: str
    exported_at: datetime
    dropped_at: datetime | None
    restored_at: datetime | None


class ArchiveList(BaseModel):
    items: list[ArchivedDayRead]
    rows: int  # in dropped days (raw readings only in the archive)
    bytes: int


class LifecycleStatus(BaseModel):
    """How readings are stored and kept: the layout, rollups, partitions, retention and archival."""

    layout: str  # partitioned (plain PostgreSQL), timescaledb, sqlite
    plant_tz: str
    rollup_watermark: datetime | None  # raw readings before this are in the rollups
    rollup_lag_s: float | None
    late_buckets_waiting: int
    last_refresh: RefreshRead | None
    last_maintenance_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failures: int
    raw_retention_days: int
    rollup_retention_days: dict[str, int]
    archive_url: str
    archive_cutoff: date  # days before this one are archived
    partitions: dict[str, list[PartitionRead]]


class VerifyResult(BaseModel):
    day: date
    ok: bool
    rows: int
    sha256: str
    problem: str | None
