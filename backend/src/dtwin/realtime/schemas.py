"""WebSocket message models (`/ws`). They validate what clients send and document what the server sends;
both unions are published as OpenAPI components (`WsClientMessage`, `WsServerMessage`) so the dashboard's
TypeScript types are generated from them. The protocol is described in docs/api.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from dtwin.anomalies.routes import AnomalyEventRead, DecisionRead
from dtwin.twins.schemas import TwinRead

Stream = Literal["twins", "alerts", "decisions"]
SubName = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamFilterModel(_Strict):
    """All given conditions must match; an empty filter matches every machine."""

    machine_ids: Annotated[list[str], Field(max_length=10_000)] | None = None
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None


class SubscribeMessage(_Strict):
    """Start (or replace) the subscription `sub`. With `resume_after` (the last seq seen), the server sends
    the missed changes (`replay: true`) or, when they are no longer retained, a snapshot with reason `gap`."""

    type: Literal["subscribe"]
    sub: SubName
    stream: Stream = "twins"
    filter: StreamFilterModel = StreamFilterModel()
    max_rate_hz: Annotated[float, Field(ge=0.1, le=50)] | None = None
    resume_after: Annotated[int, Field(ge=0)] | None = None


class UnsubscribeMessage(_Strict):
    type: Literal["unsubscribe"]
    sub: SubName


class PingMessage(_Strict):
    type: Literal["ping"]
    id: str | int | None = None


WsClientMessage = Annotated[SubscribeMessage | UnsubscribeMessage | PingMessage, Field(discriminator="type")]


class TwinChange(BaseModel):
    """One change of one twin. `reported`: ts, quality, last_seen and only the changed readings/reported
    settings; `analytics`: health, anomaly_score, strategy; `status`: the new status; `twin`: the whole twin
    (every TwinRead field); `removed`: the twin was deleted."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["reported", "analytics", "status", "twin", "removed"]
    id: str
    version: int | None = None
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None
    ts: datetime | None = None
    last_seen: datetime | None = None
    quality: Literal["good", "uncertain", "bad"] | None = None
    readings: dict[str, float] | None = None
    reported: dict[str, Any] | None = None
    health: float | None = None
    anomaly_score: float | None = None
    strategy: str | None = None
    status: Literal["online", "stale", "offline"] | None = None


class HelloMessage(BaseModel):
    type: Literal["hello"] = "hello"
    server_time: datetime
    seq: int
    heartbeat_s: float
    max_lifetime_s: float


class SubscribedMessage(BaseModel):
    type: Literal["subscribed"] = "subscribed"
    sub: str
    stream: Stream
    filter: StreamFilterModel
    max_rate_hz: float | None


class UnsubscribedMessage(BaseModel):
    type: Literal["unsubscribed"] = "unsubscribed"
    sub: str


class SnapshotMessage(BaseModel):
    """The current state: whole twins (`twins`) or the newest 100 events/decisions (`alerts`/`decisions`)."""

    type: Literal["snapshot"] = "snapshot"
    sub: str
    seq: int
    reason: Literal["subscribe", "gap", "resync"]
    items: list[TwinRead] | list[AnomalyEventRead] | list[DecisionRead]


class UpdateMessage(BaseModel):
    type: Literal["update"] = "update"
    sub: str
    seq: int
    replay: bool
    items: list[TwinChange] | list[AnomalyEventRead] | list[DecisionRead]


class HeartbeatMessage(BaseModel):
    type: Literal["heartbeat"] = "heartbeat"
    server_time: datetime
    seq: int


class PongMessage(BaseModel):
    type: Literal["pong"] = "pong"
    id: str | int | None = None


class ErrorMessage(BaseModel):
    """An invalid client message; the socket stays open (20 invalid messages in a row close it, 1008)."""

    type: Literal["error"] = "error"
    sub: str | None = None
    title: str
    detail: str


WsServerMessage = Annotated[
    HelloMessage
    | SubscribedMessage
    | UnsubscribedMessage
    | SnapshotMessage
    | UpdateMessage
    | HeartbeatMessage
    | PongMessage
    | ErrorMessage,
    Field(discriminator="type"),
]

client_messages: TypeAdapter[SubscribeMessage | UnsubscribeMessage | PingMessage] = TypeAdapter(
    WsClientMessage
)


def openapi_components() -> dict[str, Any]:
    """JSON schemas of both unions and every model they use, shaped for OpenAPI `components.schemas`."""
    out: dict[str, Any] = {}
    unions: tuple[tuple[str, Any, Literal["validation", "serialization"]], ...] = (
        ("WsClientMessage", WsClientMessage, "validation"),
        ("WsServerMessage", WsServerMessage, "serialization"),
    )
    for name, union, mode in unions:
        schema = TypeAdapter(union).json_schema(ref_template="#/components/schemas/{model}", mode=mode)

        out.update(schema.pop("$defs", {}))
        out[name] = schema
    return out
