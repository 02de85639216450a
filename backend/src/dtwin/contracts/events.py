"""Messages the platform emits to clients (WebSocket) and other services."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class TwinUpdate(BaseModel):
    """The effective change of one twin, as published on Redis pub/sub and sent on the WebSocket: only the
    properties that changed (late data that lost to newer values is left out), and the twin's new version."""

    id: str
    machine_type: str
    site: str | None
    line: str | None
    ts: str
    quality: Literal["good", "uncertain", "bad"]
    version: int
    readings: dict[str, float]
    reported: dict[str, Any] = {}


class UpdatesMessage(BaseModel):
    """Server -> client: a batch of twin updates."""

    type: Literal["updates"] = "updates"
    items: list[TwinUpdate]


class HelloMessage(BaseModel):
    type: Literal["hello"] = "hello"
    server_time: str


class PongMessage(BaseModel):
    type: Literal["pong"] = "pong"
