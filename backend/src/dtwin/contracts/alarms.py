"""Alarms as a contract between rooms: the vocabulary (priorities, states, transitions) and the notice the
alarms room hands to whoever delivers notifications, in the same database transaction as the transition it
describes (a transactional outbox: the notifications room writes its rows with the session it is given).

States follow ISA-18.2 / IEC 62682: an alarm is raised `unack_active`; an operator's acknowledgement makes it
`ack_active`; when its condition returns to normal it closes (`normal`) if it was acknowledged, or waits as
`unack_cleared` until someone acknowledges it. Shelving, suppression by design (maintenance, `mode: off`) and
out-of-service are flags on top of the state: they hide an alarm from the operator and from notifications
without losing it."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

Priority = Literal["critical", "high", "medium", "low"]
PRIORITIES: tuple[Priority, ...] = ("critical", "high", "medium", "low")  # most urgent first
AlarmState = Literal["unack_active", "ack_active", "unack_cleared", "normal"]
# what happened to an alarm (its history's `kind`, and a notice's `transition`)
Transition = Literal[
    "raised",
    "acknowledged",
    "cleared",
    "closed",
    "shelved",
    "unshelved",
    "suppressed",
    "unsuppressed",
    "out_of_service",
    "in_service",
    "commented",
]
# the sources an alarm comes from (its `source`)
Source = Literal["threshold", "anomaly", "offline", "rul", "dead_letters"]


def priority_rank(priority: str) -> int:
    """0 for critical ... 3 for low (unknown: after low)."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


class AlarmNotice(msgspec.Struct, kw_only=True, frozen=True):
    """One transition of one alarm, as the notifications room sees it. `key` is unique per transition (the
    alarm's id and the transition's sequence number in its history): a notification made of it carries it as
    its idempotency key, so a receiver can drop a repeat."""

    key: str
    alarm_id: int
    transition: Transition
    state: AlarmState
    priority: Priority
    source: Source
    condition: str  # what is wrong, stable per alarm: "hi:discharge_pressure_bar", "anomaly", "offline"
    machine_id: str  # or "system" for platform alarms (dead letters)
    machine_type: str | None
    site: str | None
    line: str | None
    ts: str  # ISO-8601 UTC, when the transition happened
    raised_at: str  # ISO-8601 UTC, when the alarm was raised
    message: str  # one line for people: "discharge_pressure_bar 8.61 bar above hi 8.4 (pump-0001)"
    value: float | None = None
    actor: str | None = None  # who (a user's name, or "system")
    comment: str | None = None
    shelved: bool = False
    suppressed: bool = False
    details: dict[str, Any] = msgspec.field(default_factory=dict)  # e.g. the anomaly's top sensors


class NoticeOutbox(Protocol):
    """Where the alarms room leaves its notices: `enqueue` writes them with the caller's session (so they
    commit or roll back with the transition). Implemented by the notifications room; wired in `main`."""

    async def enqueue(self, session: Any, notices: list[AlarmNotice]) -> None: ...
