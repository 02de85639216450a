"""API schemas for twins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dtwin.contracts.changes import CommandOutcome
from dtwin.contracts.inputs import Document
from dtwin.contracts.limits import MACHINE_ID_PATTERN, PLACEMENT_PATTERN
from dtwin.contracts.strategies import OptionalStrategyName

Placement = Annotated[str, Field(pattern=PLACEMENT_PATTERN)]


class CommandStatus(BaseModel):
    """Outcome of the newest desired-state change: `pending` until the device answers, then `accepted`,
    `partial` or `rejected` (with reasons per setting); `undelivered` if it could not be handed to Kafka;
    `awaiting_placement` while the twin has no site/line (its device topic is unknown): it is sent when the
    machine next comes online with them."""

    version: int
    status: CommandOutcome
    applied: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    ts: datetime | None = None


class DesiredState(BaseModel):
    """The desired document of a twin, its version (the ETag for If-Match), what is not reported yet
    (`delta`) and the command outcome."""

    machine_id: str
    desired: dict[str, Any]
    version: int
    delta: dict[str, Any]
    command: CommandStatus | None


class TwinRead(BaseModel):
    """A machine's live twin: identity, attributes, what it reports, what operators want, and its status."""

    id: str
    machine_type: str
    site: str | None
    line: str | None
    status: Literal["online", "stale", "offline"] = "offline"
    ts: datetime | None
    last_seen: datetime | None
    quality: Literal["good", "uncertain", "bad"]
    version: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    readings: dict[str, float]
    reported: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    health: float | None = None
    anomaly_score: float | None = None
    strategy: OptionalStrategyName = None
    desired: dict[str, Any] = {}
    desired_version: int = 0
    delta: dict[str, Any] = {}
    command: CommandStatus | None = None


class TwinList(BaseModel):
    """A page of twins. `count` is how many match the filters (all pages); pass `next_cursor` as `cursor`
    for the next page (null on the last page)."""

    items: list[TwinRead]
    count: int
    next_cursor: str | None = None


class AggregateGroup(BaseModel):
    """One group of an aggregation: its key (each `group_by` field's value; null for twins without one),
    how many twins it holds, and each requested aggregate by the name it was asked for."""

    key: dict[str, str | int | float | bool | None]
    count: int
    values: dict[str, float | int | None]


class TwinAggregate(BaseModel):
    """Twins matching the filters, grouped (`group_by`, in key order, nulls last) with the requested
    aggregates per group, and the same aggregates over all of them (`total`)."""

    group_by: list[str]
    aggregates: list[str]
    groups: list[AggregateGroup]
    total: AggregateGroup


class TwinCreate(BaseModel):
    """Register a machine ahead of its first telemetry."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]
    machine_type: Placement = "unknown"
    site: Placement | None = None
    line: Placement | None = None
    attributes: Document = {}


class AttributesUpdate(BaseModel):
    """Replace a twin's attributes (serial number, install date, location, expected_interval_s...)."""

    model_config = ConfigDict(extra="forbid")

    attributes: Document


class TwinPlacement(BaseModel):
    """Where a registered twin sits: its type, site and line (from the durable registry)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    machine_type: str
    site: str | None = None
    line: str | None = None


class TwinEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    kind: str
    version: int | None
    details: dict[str, Any]
    actor: str | None = Field(
        default=None,
        description="Who made the change: user:<name>, api_key:<name> or anonymous for operator changes "
        "(created, attributes, desired, deleted), device for reported changes and acks, system for status",
    )


class TwinEventList(BaseModel):
    machine_id: str
    items: list[TwinEventRead]
    next_cursor: str | None = None
