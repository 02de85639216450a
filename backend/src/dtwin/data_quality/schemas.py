"""API schemas of the data-quality room."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RuleCounts(BaseModel):
    """How often each cleansing rule fired. Units differ by rule: `physical_range` counts readings (sensor
    values), `gap` gap events, `duplicate` readings, `late` and `clock_offset` messages."""

    physical_range: int = Field(
        default=0, description="Readings outside their sensor's physical range (stored with quality bad)"
    )
    gap: int = Field(default=0, description="Data gaps: no message for longer than the machine's gap limit")
    duplicate: int | None = Field(
        default=0,
        description="Readings the database already had (redelivered or sent twice); counted for the fleet "
        "only (null for one machine); always 0 on SQLite (embedded mode)",
    )
    late: int = Field(
        default=0, description="Messages older than the machine's newest one by more than the lateness"
    )
    clock_offset: int = Field(
        default=0, description="Messages from a device whose clock is off by more than the threshold"
    )


class MachineIssues(BaseModel):
    """One machine's issues in the window: every rule's count and their sum."""

    machine_id: str
    total: int
    counts: RuleCounts


class ClockOffsetRead(BaseModel):
    """A device's clock-offset estimate: receive time minus device time, seconds (positive: the device
    clock is behind), the median of the smallest delays of the last windows (`samples` of them)."""

    model_config = ConfigDict(from_attributes=True)

    machine_id: str
    offset_s: float
    samples: int
    updated_at: datetime
    beyond_threshold: bool = False


class DataGapRead(BaseModel):
    """No telemetry from the machine between `start` and `end` (device time of the messages around it)."""

    model_config = ConfigDict(from_attributes=True)

    machine_id: str
    start: datetime
    end: datetime
    seconds: float


class DataQualityRules(BaseModel):
    """The rules' settings in force in this backend (DTWIN_DATA_QUALITY_*, docs/operations.md)."""

    enabled: bool
    gap_factor: float
    gap_floor_s: float
    lateness_s: float
    clock_offset_threshold_s: float
    clock_correction: bool


class DataQualitySummary(BaseModel):
    """The fleet's data quality in [start, end): counts per rule (resolved to whole hours: a count belongs
    to the hour it was observed in), the machines with the most issues, gaps, and the devices whose clock
    is off now."""

    start: datetime
    end: datetime
    counts: RuleCounts
    machines_affected: int = Field(description="Machines with any issue in the window")
    top_machines: list[MachineIssues]
    gaps: int = Field(description="Gaps overlapping the window")
    gap_seconds: float = Field(description="Their length in all, seconds")
    clock_offsets: list[ClockOffsetRead] = Field(
        description="Devices whose latest clock-offset estimate is beyond the threshold, worst first"
    )
    rules: DataQualityRules


class MachineDataQuality(BaseModel):
    """One machine's data quality in [start, end): counts per rule (`duplicate` is null: counted for the
    fleet only), its gaps oldest first (a timeline; at most `limit`, `gap_count` says how many there are)
    and its clock-offset estimate (null until a backend has seen the machine)."""

    machine_id: str
    start: datetime
    end: datetime
    counts: RuleCounts
    gaps: list[DataGapRead]
    gap_count: int
    gap_seconds: float
    clock_offset: ClockOffsetRead | None
    rules: DataQualityRules
