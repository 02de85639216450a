"""API schemas for twins."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel


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


class TwinList(BaseModel):
    items: list[TwinRead]
    count: int
