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
