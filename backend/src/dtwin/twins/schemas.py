"""API schemas for twins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


class CommandStatus(BaseModel):
    """Outcome of the newest desired-state change: `pending` until the device answers, then `accepted`,
    `partial` or `rejected` (with reasons per setting); `undelivered` if it could not be handed to Kafka."""

    version: int
    status: Literal["pending", "undelivered", "accepted", "partial", "rejected"]
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
    """A machine's live twin: identity and its latest reported sensor values."""

    id: str
    machine_type: str
    site: str | None
    line: str | None
    ts: datetime
    last_seen: datetime
    quality: Literal["good", "uncertain", "bad"]
    version: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    readings: dict[str, float]
    reported: dict[str, Any] = {}
    desired: dict[str, Any] = {}
    desired_version: int = 0
    delta: dict[str, Any] = {}
    command: CommandStatus | None = None


class TwinList(BaseModel):
    items: list[TwinRead]
    count: int
