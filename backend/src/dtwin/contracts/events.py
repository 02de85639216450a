"""Messages the platform emits to clients (WebSocket) and other services."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class TwinUpdate(BaseModel):
    """The compact change of one twin, as published on Redis pub/sub and sent on the WebSocket."""

    id: str
    machine_type: str
    site: str | None
    line: str | None
    ts: str
    quality: Literal["good", "uncertain", "bad"]
    readings: dict[str, float]


class UpdatesMessage(BaseModel):
    """Server -> client: a batch of twin updates."""

    type: Literal["updates"] = "updates"
    items: list[TwinUpdate]


class HelloMessage(BaseModel):
    type: Literal["hello"] = "hello"
    server_time: str


class PongMessage(BaseModel):
    type: Literal["pong"] = "pong"
