"""The twin as of a past instant, rebuilt from its change log: pure functions over the entries (no I/O), so
that each rule can be tested alone. `TwinService.state_at` reads the entries and the readings room adds the
readings; docs/api.md (`GET /twins/{id}/at`) says what is exact and what is not."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dtwin.contracts.telemetry import iso_utc

# the kinds the reconstruction reads (not the per-minute `reported` summaries, not `status` transitions,
# not `desired_resent`: a resend changes nothing on the twin, its command change is a `command` entry)
STATE_KINDS = ("created", "attributes", "desired", "command", "ack", "settings", "deleted")


@dataclass(frozen=True, slots=True)
class Entry:
    """One change-log entry, as the reconstruction needs it (`id`: the order it was recorded in)."""

    id: int
    ts: datetime
    kind: str
    details: dict[str, Any]
    version: int | None = None


@dataclass(slots=True)
class Command:
    version: int
    status: str
    applied: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    ts: datetime | None = None


@dataclass(slots=True)
class Settings:
    """Reported settings as of an instant: value and device time per setting; `inexact`: settings whose
    changes around the instant were coalesced under the rate cap (the value in between is not logged)."""

    values: dict[str, Any] = field(default_factory=dict)
    times: dict[str, datetime] = field(default_factory=dict)
    inexact: list[str] = field(default_factory=list)


def current_life(entries: Sequence[Entry]) -> tuple[list[Entry], Entry | None]:
    """The entries after the last `deleted` one (the twin's current life as of the entries' end), and that
    deletion (None if there is none). `entries` oldest first."""
    for k in range(len(entries) - 1, -1, -1):
        if entries[k].kind == "deleted":
            return list(entries[k + 1 :]), entries[k]
    return list(entries), None


def attributes_at(life: Iterable[Entry]) -> dict[str, Any]:
    """The attributes the newest `created` or `attributes` entry set ({} for a twin made by telemetry)."""
    out: dict[str, Any] = {}
    for e in life:
        if e.kind in ("created", "attributes"):
            out = dict(e.details.get("attributes") or {})
    return out


def desired_at(life: Iterable[Entry]) -> tuple[dict[str, Any], int]:
    """The desired document and its version after the newest `desired` entry ({} and 0 before any)."""
    desired: dict[str, Any] = {}
    version = 0
    for e in life:
        if e.kind == "desired":
            desired = dict(e.details.get("desired") or {})
            version = int(e.details.get("desired_version", 0))
    return desired, version


def command_at(life: Iterable[Entry]) -> Command | None:
    """The newest command's outcome: a `desired` entry makes its version `pending`; a `command` entry (a
    status the platform set: awaiting_placement, pending, undelivered) or an `ack` (the device's answer)
    replaces it when its version is not older, as the store's rule does (store.py RECORD_ACK_LUA). Times
    to the millisecond, as the live twin keeps them."""
    cmd: Command | None = None
    for e in life:
        d = e.details
        if e.kind == "desired":
            cmd = Command(int(d.get("desired_version", 0)), "pending", ts=_ms(e.ts))
        elif e.kind in ("command", "ack"):
            version = int(d.get("version", -1))
            if cmd is not None and version < cmd.version:
                continue
            cmd = Command(
                version,
                str(d.get("status")),
                dict(d.get("applied") or {}),
                dict(d.get("rejected") or {}),
                _ms(e.ts),
            )
    return cmd


def settings_at(life: Iterable[Entry], at: datetime) -> Settings:
    """Each reported setting's value with the newest device time at or before `at` (of two with the same
    time, the one recorded first, as the twin store keeps it)."""
    out = Settings()
    inexact: set[str] = set()
    for e in life:
        if e.kind != "settings":
            continue
        values: dict[str, Any] = e.details.get("settings") or {}
        times: dict[str, str] = e.details.get("times") or {}
        for name, value in values.items():
            t = datetime.fromisoformat(times[name]) if name in times else e.ts
            if t > at:
                continue
            if name not in out.times or t > out.times[name]:
                out.values[name], out.times[name] = value, t
        for name, since in (e.details.get("held_since") or {}).items():
            if name in times and datetime.fromisoformat(since) <= at < datetime.fromisoformat(times[name]):
                inexact.add(name)
    out.values = dict(sorted(out.values.items()))
    out.times = dict(sorted(out.times.items()))
    out.inexact = sorted(inexact)
    return out


def interval_of(attributes: dict[str, Any], default_s: float) -> float:
    """The expected reporting interval: `expected_interval_s` of the attributes when it is a positive
    number, else the default (the live twin's, through TwinService.interval_of, and the twin's at T)."""
    interval = attributes.get("expected_interval_s", default_s)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
        return default_s
    return float(interval)


def newest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _ms(ts: datetime) -> datetime:
    return datetime.fromisoformat(iso_utc(ts))
