"""The change stream as a contract: every message the stream carries and every change kind in it, typed, with
the one encoder and decoder everything uses (apply.lua and the emitters write it; the feed, the fleet view,
the hub and the chart streams read it; the WebSocket schema and the dashboard's TypeScript types come from
it).

A message is `{"seq", "type", "items"}`; `type` names the stream:
- `twins`: changes of twins, tagged by `kind`:
  - `reported`: what a batch of telemetry changed: `ts`, `quality`, `last_seen`, the twin's new `version`,
    only the readings and reported settings that changed, and the placement (`machine_type`, `site`, `line`)
    only when it is news (a new twin, a machine that moved);
  - `twin`: the whole twin, after a change that is not a telemetry delta (desired state, a device's command
    answer, attributes, a restore);
  - `analytics`: new health, anomaly score or maintenance strategy;
  - `status`: the twin's new status (online, stale, offline);
  - `removed`: the twin was deleted.
- `alerts`: anomaly episodes as stored (with their ids); `decisions`: maintenance decisions as stored;
  `alarms`: alarms after each transition (raised, acknowledged, cleared, shelved, ...).

A `reported` change omits the placement unless it is news and the readings or settings that did not change
(absent means unchanged). Times are ISO-8601 UTC strings of one fixed format (they compare like times).
msgspec, not pydantic, because this is the hot path: decoding a 500-change message into these structs costs
what `orjson.loads` into dicts costs, pydantic 2.4 times that (docs/decisions.md).

The merge rule (how a twin follows its changes) is `dtwin.twins.view.apply_change` and, in the dashboard,
`frontend/src/realtime/twinChanges.ts`; the golden fixtures in `backend/tests/golden/changes/` hold both to
the same answers."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from dtwin.contracts.strategies import LEGACY_STRATEGIES, current_name

# any JSON object (the schema says so explicitly, for the generated TypeScript types)
AnyMap = Annotated[dict[str, Any], msgspec.Meta(extra_json_schema={"additionalProperties": True})]
Quality = Literal["good", "uncertain", "bad"]
Status = Literal["online", "stale", "offline"]
CommandOutcome = Literal["pending", "undelivered", "awaiting_placement", "accepted", "partial", "rejected"]


class TwinUpdate(msgspec.Struct, kw_only=True):
    """What one consumer batch says about one machine, for the twin store (apply.lua's input, not a change):
    the newest value of each reading and reported setting; `times` holds the time of each value older than
    `ts` (`r:<sensor>` / `p:<setting>`), so the store's per-property timestamp rule stays exact. apply.lua
    answers with the `reported` changes it made of these."""

    id: str
    machine_type: str
    site: str | None
    line: str | None
    ts: str
    quality: Quality
    readings: dict[str, float]
    reported: AnyMap = msgspec.field(default_factory=dict)
    times: dict[str, str] = msgspec.field(default_factory=dict)


class _Change(msgspec.Struct, tag_field="kind", omit_defaults=True, kw_only=True):
    kind: ClassVar[str]  # the tag, readable (`change.kind`)
    id: str


class ReportedChange(_Change, tag="reported"):
    """What telemetry changed: only the readings/reported settings that changed; placement when it is news."""

    kind: ClassVar[str] = "reported"

    version: int
    ts: str
    last_seen: str
    quality: Quality
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None
    readings: dict[str, float] = msgspec.field(default_factory=dict)
    reported: AnyMap = msgspec.field(default_factory=dict)


class CommandState(msgspec.Struct, kw_only=True):
    """The newest command's outcome on a whole twin."""

    version: int
    status: CommandOutcome
    applied: AnyMap
    rejected: dict[str, str]
    ts: str | None


class WholeTwinChange(_Change, tag="twin"):
    """The whole twin as stored (every member present, `None` where unset). `status_known` is the last status
    the change log recorded; readers derive the live status from `last_seen`."""

    kind: ClassVar[str] = "twin"

    machine_type: str
    site: str | None
    line: str | None
    ts: str | None
    last_seen: str | None
    quality: Quality
    version: int
    created_at: str | None
    updated_at: str | None
    readings: dict[str, float]
    reported: AnyMap
    attributes: AnyMap
    health: float | None
    anomaly_score: float | None
    strategy: str | None
    status_known: str | None
    desired: AnyMap
    desired_version: int
    delta: AnyMap
    command: CommandState | None

    def __post_init__(self) -> None:
        # a strategy of the old vocabulary (stored before issue #16, or from a not yet upgraded process)
        # reads as today's; the field stays a plain string so such a message still decodes
        self.strategy = current_name(self.strategy)


class AnalyticsChange(_Change, tag="analytics"):
    """New health (0-100), anomaly score (0-1) and maintenance strategy (`None`: none)."""

    kind: ClassVar[str] = "analytics"

    health: float | None
    anomaly_score: float | None
    strategy: str | None

    def __post_init__(self) -> None:
        self.strategy = current_name(self.strategy)  # the old vocabulary reads as today's (WholeTwinChange)


class StatusChange(_Change, tag="status"):
    kind: ClassVar[str] = "status"
    status: Status
    last_seen: str | None


class RemovedChange(_Change, tag="removed"):
    kind: ClassVar[str] = "removed"


TwinChange = ReportedChange | WholeTwinChange | AnalyticsChange | StatusChange | RemovedChange
ChangeKind = Literal["reported", "twin", "analytics", "status", "removed"]
# The members a partial change can carry besides `kind`, `id` and `version` (a subscription's `fields`).
PARTIAL_MEMBERS: dict[str, tuple[str, ...]] = {
    "reported": ("ts", "last_seen", "quality", "machine_type", "site", "line", "readings", "reported"),
    "analytics": ("health", "anomaly_score", "strategy"),
    "status": ("status", "last_seen"),
}


class AnomalyEventChange(msgspec.Struct, kw_only=True):
    """An anomaly episode as stored (`GET /api/v1/anomalies` items); `kind` is the anomaly's kind."""

    id: int
    machine_id: str
    machine_type: str
    ts: str
    kind: str
    started_at: str
    score: float
    peak_score: float
    threshold: float
    detector: str
    explanation: list[AnyMap]


class DecisionChange(msgspec.Struct, kw_only=True):
    """A maintenance decision as stored (`GET /api/v1/machines/{id}/decisions` items)."""

    id: int
    machine_id: str
    ts: str
    strategy: str
    confidence: float
    risk: float
    opportunity: float
    stability: float
    reasons: list[str]

    def __post_init__(self) -> None:
        self.strategy = LEGACY_STRATEGIES.get(self.strategy, self.strategy)  # as in WholeTwinChange


class AlarmChange(msgspec.Struct, kw_only=True):
    """An alarm after one of its transitions (`GET /api/v1/alarms` items, plus the `transition`); the
    vocabulary is `contracts.alarms`."""

    id: int
    machine_id: str
    condition: str
    source: str
    priority: str
    state: str
    transition: str
    seq: int
    message: str
    raised_at: str
    updated_at: str
    machine_type: str | None = None
    site: str | None = None
    line: str | None = None
    value: float | None = None
    acked_by: str | None = None
    shelved_until: str | None = None
    suppressed: bool = False
    out_of_service: bool = False


class _Message(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    type: ClassVar[str]  # the tag, readable (`message.type`): the stream's name
    seq: int = 0  # assigned when the message is appended to the stream (0: not yet, and not encoded)
    # the W3C traceparent of the traced consumer batch that made it (kit/tracing.py); absent otherwise
    trace: str | None = None


class TwinsMessage(_Message, tag="twins"):
    type: ClassVar[str] = "twins"
    items: list[TwinChange]


class AlertsMessage(_Message, tag="alerts"):
    type: ClassVar[str] = "alerts"
    items: list[AnomalyEventChange]


class DecisionsMessage(_Message, tag="decisions"):
    type: ClassVar[str] = "decisions"
    items: list[DecisionChange]


class AlarmsMessage(_Message, tag="alarms"):
    type: ClassVar[str] = "alarms"
    items: list[AlarmChange]


ChangeMessage = TwinsMessage | AlertsMessage | DecisionsMessage | AlarmsMessage
StreamName = Literal["twins", "alerts", "decisions", "alarms"]

_decoder: msgspec.json.Decoder[ChangeMessage] = msgspec.json.Decoder(ChangeMessage)
_encoder = msgspec.json.Encoder()


class ChangeDecodeError(ValueError):
    """A change-stream entry that is not a valid message (only a bug or a foreign writer produces one)."""


def decode(raw: bytes | str) -> ChangeMessage:
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise ChangeDecodeError(f"invalid change-stream message: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ChangeDecodeError(f"change-stream message is not JSON: {exc}") from exc


def encode(value: Any) -> bytes:
    """JSON of a message, a change, a list of them (or any msgspec-encodable value)."""
    return _encoder.encode(value)


def twin_change(fields: dict[str, Any]) -> WholeTwinChange:
    """A whole-twin change from a decoded twin (`TwinStore` shape)."""
    return msgspec.convert({"kind": "twin", **fields}, WholeTwinChange)


def as_twin(change: WholeTwinChange) -> dict[str, Any]:
    """The stored twin a whole-twin change carries (the fleet view's shape)."""
    out = msgspec.structs.asdict(change)
    command = out["command"]
    if command is not None:
        out["command"] = msgspec.structs.asdict(command)
    return out


def machine_of(change: TwinChange | AnomalyEventChange | DecisionChange | AlarmChange) -> str:
    if isinstance(change, AnomalyEventChange | DecisionChange | AlarmChange):
        return change.machine_id
    return change.id


def json_schema_components(ref_template: str) -> dict[str, Any]:
    """JSON schemas of the change kinds and stream items, for the OpenAPI components (WebSocket schema)."""
    (union, *_), components = msgspec.json.schema_components(
        [TwinChange, AnomalyEventChange, DecisionChange, AlarmChange], ref_template=ref_template
    )
    return {**components, "TwinChange": union}
