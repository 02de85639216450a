"""API schemas of alarms and threshold rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dtwin.contracts.alarms import AlarmState, Priority, Source
from dtwin.contracts.inputs import Text
from dtwin.contracts.limits import (
    MACHINE_ID_PATTERN,
    MAX_ALARM_COMMENT,
    MAX_ALARM_DELAY_S,
    MAX_BULK_ACK,
    MAX_PREVIEW_DAYS,
    MAX_PREVIEW_MACHINES,
    MAX_SHELVE_S,
    PLACEMENT_PATTERN,
    SENSOR_PATTERN,
)

RuleKind = Literal["hi", "hihi", "lo", "lolo"]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Comment = Annotated[Text, Field(max_length=MAX_ALARM_COMMENT)]


class AlarmRuleIn(BaseModel):
    """A threshold rule: raise an alarm of `priority` when `sensor` is above (`hi`, `hihi`) or below (`lo`,
    `lolo`) `threshold` for `on_delay_s`; clear it once the value has been back inside by `deadband` for
    `off_delay_s`. For every machine of `machine_type`, or for one `machine_id` (which replaces a type rule of
    the same sensor and kind for that machine): exactly one of the two."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[Text, Field(min_length=1, max_length=128)]
    machine_type: Annotated[str, Field(pattern=PLACEMENT_PATTERN)] | None = None
    machine_id: Annotated[str, Field(pattern=MACHINE_ID_PATTERN)] | None = None
    sensor: Annotated[str, Field(pattern=SENSOR_PATTERN)]
    kind: RuleKind
    threshold: Finite
    deadband: Annotated[Finite, Field(ge=0)] = 0.0
    on_delay_s: Annotated[Finite, Field(ge=0, le=MAX_ALARM_DELAY_S)] = 0.0
    off_delay_s: Annotated[Finite, Field(ge=0, le=MAX_ALARM_DELAY_S)] = 0.0
    priority: Priority = "medium"
    enabled: bool = True

    @model_validator(mode="after")
    def _scope(self) -> AlarmRuleIn:
        if (self.machine_type is None) == (self.machine_id is None):
            raise ValueError("give exactly one of machine_type and machine_id")
        return self


class AlarmRuleRead(AlarmRuleIn):
    """A stored rule. `version` grows with every change and is the `ETag`."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: int
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str


class AlarmRuleList(BaseModel):
    items: list[AlarmRuleRead]
    count: int


class AlarmRead(BaseModel):
    """An alarm (ISA-18.2 states: `unack_active`, `ack_active`, `unack_cleared`, `normal`), with what it is
    about and what happened to it. Shelved, suppressed (maintenance, `mode: off`) and out-of-service alarms
    are hidden from the operator's list and from notifications, not lost."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    machine_id: str
    condition: str = Field(examples=["hi:discharge_pressure_bar", "anomaly", "offline"])
    source: Source
    rule_id: int | None
    priority: Priority
    state: AlarmState
    machine_type: str | None
    site: str | None
    line: str | None
    message: str
    value: float | None
    details: dict[str, Any]
    shelved_until: datetime | None
    suppressed: bool
    out_of_service: bool
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    cleared_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    seq: int


class AlarmEventRead(BaseModel):
    """One transition of an alarm (its history)."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    ts: datetime
    kind: str = Field(examples=["raised", "acknowledged", "cleared", "shelved", "commented"])
    state: AlarmState
    actor: str
    comment: str | None
    details: dict[str, Any]


class AlarmDetail(AlarmRead):
    history: list[AlarmEventRead]


class AlarmList(BaseModel):
    items: list[AlarmRead]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")


class AlarmSummary(BaseModel):
    """Counts for the header badge. `unacknowledged` and `active` count the alarms shown to operators (not
    shelved, suppressed or out of service); `shelved` and `suppressed` count the hidden ones still open."""

    unacknowledged: int
    active: int
    shelved: int
    suppressed: int
    by_priority: dict[str, int] = Field(description="Unacknowledged alarms per priority")


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    comment: Comment | None = None


class BulkAckBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ids: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]],
        Field(min_length=1, max_length=MAX_BULK_ACK),
    ]
    comment: Comment | None = None


class BulkAckResult(BaseModel):
    acknowledged: list[int]
    skipped: dict[int, str] = Field(description="Alarms not acknowledged, with why (already, not found)")


class ShelveBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    duration_s: Annotated[Finite, Field(gt=0, le=MAX_SHELVE_S, description="Unshelved by itself after this")]
    reason: Annotated[Text, Field(min_length=1, max_length=MAX_ALARM_COMMENT)]


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    comment: Annotated[Text, Field(min_length=1, max_length=MAX_ALARM_COMMENT)]


class RulePreviewIn(BaseModel):
    """A draft rule to replay over stored history before saving it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    rule: AlarmRuleIn
    days: Annotated[Finite, Field(gt=0, le=MAX_PREVIEW_DAYS)] = 7.0
    machine_ids: (
        Annotated[
            list[Annotated[str, Field(pattern=MACHINE_ID_PATTERN)]],
            Field(min_length=1, max_length=MAX_PREVIEW_MACHINES),
        ]
        | None
    ) = Field(default=None, description="Replay on these machines only (default: every machine in scope)")


class PreviewEpisode(BaseModel):
    machine_id: str
    raised_at: datetime
    cleared_at: datetime | None
    value: float


class PreviewMachine(BaseModel):
    machine_id: str
    alarms: int


class RulePreview(BaseModel):
    """What the draft rule would have done over the period: alarms raised, their episodes (the first 200),
    per machine, and how many of its alarms chatter (3+ activations within 60 s)."""

    start: datetime
    end: datetime
    machines: int
    readings: int
    alarms: int
    chattering: int
    episodes: list[PreviewEpisode]
    per_machine: list[PreviewMachine]


class FloodWindow(BaseModel):
    site: str | None
    start: datetime
    alarms: int
    flood: bool


class FloodReport(BaseModel):
    threshold: int = Field(description="ISA-18.2: more than this many alarms in a window is a flood")
    window_s: float
    windows: list[FloodWindow] = Field(description="Windows with alarms, per site, in time order")
    flood_windows: int
    percent_time_in_flood: float


class FrequentAlarm(BaseModel):
    machine_id: str
    condition: str
    count: int


class ChatteringAlarm(BaseModel):
    machine_id: str
    condition: str
    activations: int
    max_in_60s: int


class AlarmReports(BaseModel):
    """Alarm-management figures of a period: floods per site, the ten most frequent alarms, chattering."""

    start: datetime
    end: datetime
    raised: int
    flood: FloodReport
    frequent: list[FrequentAlarm]
    chattering: list[ChatteringAlarm]
