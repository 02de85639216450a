"""API schemas for twins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dtwin.contracts.changes import CommandOutcome
from dtwin.contracts.inputs import Document
from dtwin.contracts.limits import MACHINE_ID_PATTERN, PLACEMENT_PATTERN, PROPERTY_PATTERN
from dtwin.contracts.strategies import OptionalStrategyName

Placement = Annotated[str, Field(pattern=PLACEMENT_PATTERN)]

_PATCH_SCHEMA: dict[str, Any] = {"type": "object", "propertyNames": {"pattern": PROPERTY_PATTERN}}
# the request body of PATCH /twins/{id}/desired and its dry run, for the OpenAPI document (`openapi_extra`)
MERGE_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "RFC 7396 JSON merge patch: members replace, null deletes, objects merge.",
        "content": {
            "application/merge-patch+json": {"schema": _PATCH_SCHEMA, "example": {"mode": "standby"}},
            "application/json": {"schema": _PATCH_SCHEMA},
        },
    }
}


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
        "(created, attributes, desired, deleted), device for reported changes, settings and acks, system for "
        "status, command statuses and resends",
    )


class TwinEventList(BaseModel):
    machine_id: str
    items: list[TwinEventRead]
    next_cursor: str | None = None


class TwinStateAt(BaseModel):
    """The twin as of a past instant, rebuilt from its change log (`GET /twins/{id}/events`). Times of
    reported settings and readings are device times; operator changes are at the time the platform made
    them."""

    since: datetime | None = Field(
        description="When the twin's life that holds the instant began: its first change-log entry after "
        "its last deletion before the instant; null when that entry is later than the instant (telemetry "
        "backfilled with older device times: the twin is known then from its readings and settings only)"
    )
    attributes: dict[str, Any] = Field(
        description="Attributes as the newest created/attributes entry set them"
    )
    reported: dict[str, Any] = Field(
        description="Reported device settings: each setting's value with the newest device time at or before "
        "the instant (from the `settings` entries, one per change)"
    )
    reported_ts: dict[str, datetime] = Field(description="The device time of each value in `reported`")
    reported_inexact: list[str] = Field(
        default=[],
        description="Settings the device changed faster than the change log takes them "
        "(MAX_SETTINGS_ENTRIES_PER_MIN): around the instant their changes were coalesced, and the value "
        "given is the last one logged before, not necessarily the one the twin showed",
    )
    desired: dict[str, Any] = Field(description="The desired document after the newest desired change")
    desired_version: int = Field(description="Its version (0: never set)")
    command: CommandStatus | None = Field(
        description="The newest command's outcome: from the desired changes (pending), the statuses the "
        "platform set (`command` entries: awaiting_placement, pending, undelivered) and the device's acks"
    )
    status: Literal["online", "stale", "offline"] = Field(
        description="Computed as the live twin computes it (3 and 30 expected intervals, at least 5 and "
        "60 s) from `last_heard` and the `expected_interval_s` of the attributes as of the instant"
    )
    last_heard: datetime | None = Field(
        description="The newest device time at or before the instant among the machine's readings and "
        "settings changes (the live twin uses the receive time, `last_seen`: they differ by the transport "
        "delay and the device's clock error)"
    )
