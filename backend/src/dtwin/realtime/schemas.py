"""WebSocket message models (`/ws`). They validate what clients send and document what the server sends;
both unions are published as OpenAPI components (`WsClientMessage`, `WsServerMessage`) so the dashboard's
TypeScript types are generated from them. The protocol is described in docs/api.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, WithJsonSchema, model_validator

from dtwin.alarms.schemas import AlarmRead
from dtwin.anomalies.schemas import AnomalyEventRead, DecisionRead
from dtwin.auth.identity import Role
from dtwin.contracts import changes
from dtwin.contracts.inputs import Instant
from dtwin.contracts.limits import MACHINE_ID_PATTERN, SENSOR_PATTERN
from dtwin.readings.schemas import Series
from dtwin.twins.schemas import TwinRead

Stream = Literal["twins", "alerts", "decisions", "alarms", "series"]
# What a partial twin change (`reported`, `analytics`, `status`) can carry besides `kind`, `id` and `version`
# (contracts.changes.PARTIAL_MEMBERS; a test keeps the two equal).
ChangeField = Literal[
    "machine_type",
    "site",
    "line",
    "ts",
    "last_seen",
    "quality",
    "readings",
    "reported",
    "health",
    "anomaly_score",
    "strategy",
    "status",
]
SubName = Annotated[str, Field(min_length=1, max_length=64)]
FilterId = Annotated[str, Field(max_length=128)]
SensorName = Annotated[str, Field(pattern=SENSOR_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamFilterModel(_Strict):
    """All given conditions must match; an empty filter matches every machine."""

    machine_ids: Annotated[list[FilterId], Field(max_length=10_000)] | None = None
    machine_type: Annotated[str, Field(max_length=64)] | None = None
    site: Annotated[str, Field(max_length=64)] | None = None
    line: Annotated[str, Field(max_length=64)] | None = None


class SeriesSpec(_Strict):
    """A chart stream (`stream: "series"`): one machine's readings in [`from`, `to`] downsampled on the server
    for a chart `width` pixels wide (the snapshot: LTTB, or min and max per pixel column), then, when `to` is
    omitted, its new readings reduced to about one point (LTTB: the mean) or one min/max pair per pixel
    column (the updates)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    machine_id: Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]
    sensors: Annotated[list[SensorName], Field(min_length=1, max_length=64)] | None = None
    from_: Instant = Field(alias="from")
    to: Instant | None = None
    width: Annotated[int, Field(ge=10, le=10_000)] = 800
    method: Literal["lttb", "minmax"] = "lttb"

    @model_validator(mode="after")
    def _ordered(self) -> SeriesSpec:
        if self.to is not None and self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


class SubscribeMessage(_Strict):
    """Start (or replace) the subscription `sub`. With `resume_after` (the last seq seen), the server sends
    the missed changes (`replay: true`) or, when they are no longer retained, a snapshot with reason `gap`
    (a `series` subscription always restarts with a snapshot of its window)."""

    type: Literal["subscribe"]
    sub: SubName
    stream: Stream = "twins"
    filter: StreamFilterModel = StreamFilterModel()
    series: SeriesSpec | None = None
    max_rate_hz: Annotated[float, Field(ge=0.1, le=50)] | None = None
    resume_after: Annotated[int, Field(ge=0)] | None = None
    fields: Annotated[list[ChangeField], Field(min_length=1, max_length=12)] | None = Field(
        default=None,
        description="`twins` only: the members partial changes (`reported`, `analytics`, `status`) carry "
        "besides `kind`, `id` and `version`; a change left with none of them is not sent. Snapshots and "
        "`twin` changes stay whole twins.",
    )

    @model_validator(mode="after")
    def _series_spec(self) -> SubscribeMessage:
        if (self.stream == "series") != (self.series is not None):
            raise ValueError('`series` (machine_id, from, width...) goes with stream "series" and only there')
        if self.fields is not None and self.stream != "twins":
            raise ValueError('`fields` selects members of twin changes: it goes with stream "twins" only')
        return self


class UnsubscribeMessage(_Strict):
    type: Literal["unsubscribe"]
    sub: SubName


class PingMessage(_Strict):
    type: Literal["ping"]
    id: str | int | None = None


class AuthMessage(_Strict):
    """The connection's credentials: an access token (or an API key). The first message of every connection
    (unless the upgrade request carried `Authorization: Bearer ...` or `X-API-Key`), and again whenever the
    client has a fresh token: the session goes on with its subscriptions (`authenticated`). Without a valid
    one the server closes with 4401."""

    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=4096)]


WsClientMessage = Annotated[
    SubscribeMessage | UnsubscribeMessage | PingMessage | AuthMessage, Field(discriminator="type")
]


# Stream items are the change-stream contract's (msgspec) types: the schemas are referenced here and come
# from `dtwin.contracts.changes.json_schema_components` (see openapi_components below).
# (pydantic resolves `$ref`s itself: a placeholder member is turned into the reference afterwards)
_REF = "x-contract-ref"
TwinChangeItem = Annotated[dict[str, Any], WithJsonSchema({_REF: "TwinChange"})]
AnomalyEventItem = Annotated[dict[str, Any], WithJsonSchema({_REF: "AnomalyEventChange"})]
DecisionItem = Annotated[dict[str, Any], WithJsonSchema({_REF: "DecisionChange"})]
AlarmItem = Annotated[dict[str, Any], WithJsonSchema({_REF: "AlarmChange"})]


class WsIdentity(BaseModel):
    """Who the connection acts as, and the role in effect."""

    kind: Literal["user", "api_key"]
    id: str
    name: str
    role: Role


class HelloMessage(BaseModel):
    """The first message once the connection is authenticated."""

    type: Literal["hello"] = "hello"
    server_time: datetime
    seq: int
    heartbeat_s: float
    max_lifetime_s: float
    identity: WsIdentity
    expires_at: datetime | None = Field(
        description="When the credentials expire: send an `auth` message with a fresh token before, or the "
        "server closes with 4401 (null: an API key without expiry)"
    )


class AuthenticatedMessage(BaseModel):
    """The answer to an `auth` message during a session: the new credentials are in effect."""

    type: Literal["authenticated"] = "authenticated"
    identity: WsIdentity
    expires_at: datetime | None


class SeriesAppend(BaseModel):
    """New points of one sensor for a `series` subscription, in time order (at most about one point, or one
    min/max pair, per pixel column of the subscriber's chart)."""

    sensor: str
    t: list[datetime]
    v: list[float]


class SubscribedMessage(BaseModel):
    type: Literal["subscribed"] = "subscribed"
    sub: str
    stream: Stream
    filter: StreamFilterModel
    series: SeriesSpec | None = None
    max_rate_hz: float | None
    fields: list[ChangeField] | None = None


class UnsubscribedMessage(BaseModel):
    type: Literal["unsubscribed"] = "unsubscribed"
    sub: str


class SnapshotMessage(BaseModel):
    """The current state: whole twins (`twins`), the newest 100 events/decisions (`alerts`/`decisions`), the
    newest 100 open alarms (`alarms`), or
    the chart's downsampled window (`series`: one item)."""

    type: Literal["snapshot"] = "snapshot"
    sub: str
    seq: int
    reason: Literal["subscribe", "gap", "resync"]
    items: list[TwinRead] | list[AnomalyEventRead] | list[DecisionRead] | list[AlarmRead] | list[Series]


class UpdateMessage(BaseModel):
    type: Literal["update"] = "update"
    sub: str
    seq: int
    replay: bool
    items: (
        list[TwinChangeItem]
        | list[AnomalyEventItem]
        | list[DecisionItem]
        | list[AlarmItem]
        | list[SeriesAppend]
    )


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
    | AuthenticatedMessage
    | SubscribedMessage
    | UnsubscribedMessage
    | SnapshotMessage
    | UpdateMessage
    | HeartbeatMessage
    | PongMessage
    | ErrorMessage,
    Field(discriminator="type"),
]

client_messages: TypeAdapter[SubscribeMessage | UnsubscribeMessage | PingMessage | AuthMessage] = TypeAdapter(
    WsClientMessage
)


def openapi_components() -> dict[str, Any]:
    """JSON schemas of both unions and every model they use, shaped for OpenAPI `components.schemas`."""
    template = "#/components/schemas/{name}"
    out: dict[str, Any] = changes.json_schema_components(template)
    unions: tuple[tuple[str, Any, Literal["validation", "serialization"]], ...] = (
        ("WsClientMessage", WsClientMessage, "validation"),
        ("WsServerMessage", WsServerMessage, "serialization"),
    )
    for name, union, mode in unions:
        schema = TypeAdapter(union).json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        schema = _contract_refs(schema, template)
        out.update(schema.pop("$defs", {}))
        out[name] = schema
    return out


def _contract_refs(schema: Any, template: str) -> Any:
    """`schema` with each contract placeholder replaced by a reference to the contract's component."""
    if isinstance(schema, dict):
        if _REF in schema:
            return {"$ref": template.format(name=schema[_REF])}
        return {k: _contract_refs(v, template) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_contract_refs(v, template) for v in schema]
    return schema
