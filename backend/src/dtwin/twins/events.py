"""The twin change log: what changed, when, and why. Written by the API (created, attributes, desired,
deleted, command status), the consumers (reported changes summarised per machine per minute, each change of
a machine's reported settings, device acks) and the status watcher (online/stale/offline transitions). Read
newest first with cursor pagination, or oldest first up to an instant (`until`: the twin as of then)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.limits import MAX_SETTINGS_ENTRIES_PER_MIN
from dtwin.core.db import transaction
from dtwin.kit.spread import phase
from dtwin.twins.models import TwinEventRow
from dtwin.twins.repository import TwinRepository

log = structlog.get_logger(__name__)

EventKind = Literal[
    "created",
    "attributes",
    "desired",
    "desired_resent",
    "command",
    "ack",
    "reported",
    "settings",
    "status",
    "deleted",
]
KINDS: tuple[str, ...] = get_args(EventKind)
# the actor of entries no operator makes
DEFAULT_ACTORS = {
    "reported": "device",
    "settings": "device",
    "ack": "device",
    "status": "system",
    "command": "system",
}
# a machine's reported settings as last logged are forgotten this long after they were first cached, so
# that the next change (or the next message carrying them) logs them again: bounds the memory a vanished
# machine holds, and a twin deleted and re-created by telemetry gets its settings into the log again
SETTINGS_REFRESH_S = 3600.0


class TwinEventLog:
    """Appends change-log entries in their own short transaction. A failed write is logged loudly with the
    entry; it does not undo the change it describes (that already happened in the live state)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """entries: {machine_id, ts (aware datetime), kind, version, details, actor (optional: device for
        reported/ack, system for status)}"""
        if not entries:
            return
        entries = [{**e, "actor": e.get("actor") or DEFAULT_ACTORS.get(e["kind"])} for e in entries]
        try:
            async with transaction(self.sessions) as session:
                await TwinRepository(session).add_events(entries)
        except Exception:
            log.exception("twin_events_not_recorded", count=len(entries), first=str(entries[0])[:300])

    async def record(
        self,
        machine_id: str,
        ts: datetime,
        kind: str,
        details: dict[str, Any],
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        await self.record_many(
            [
                {
                    "machine_id": machine_id,
                    "ts": ts,
                    "kind": kind,
                    "version": version,
                    "details": details,
                    "actor": actor,
                }
            ]
        )

    async def until(self, machine_id: str, at: datetime, kinds: Sequence[str]) -> list[TwinEventRow]:
        """The machine's entries of these kinds with `ts` at or before `at`, oldest first (by id)."""
        async with self.sessions() as session:
            return await TwinRepository(session).events_until(machine_id, at, kinds)

    async def settings_since(
        self, machine_ids: Sequence[str], since: datetime, limit: int
    ) -> list[TwinEventRow]:
        """The newest `limit` `settings` entries of these machines from `since` on, oldest first."""
        async with self.sessions() as session:
            return await TwinRepository(session).events_of_machines(machine_ids, "settings", since, limit)

    async def first_after(self, machine_id: str, after_id: int | None) -> TwinEventRow | None:
        """The machine's first entry (any kind) recorded after entry `after_id` (or its first of all)."""
        async with self.sessions() as session:
            return await TwinRepository(session).first_event_after(machine_id, after_id)

    async def page(
        self,
        machine_id: str,
        *,
        kinds: Sequence[str] | None,
        start: datetime | None,
        end: datetime | None,
        before_id: int | None,
        limit: int,
    ) -> list[TwinEventRow]:
        """The machine's entries, newest first, older than `before_id` (the cursor) if given."""
        async with self.sessions() as session:
            return await TwinRepository(session).events_page(
                machine_id, kinds=kinds, start=start, end=end, before_id=before_id, limit=limit
            )


@dataclass
class _Window:
    start: datetime
    ends: datetime
    updates: int = 0
    latest: dict[str, Any] = field(default_factory=dict)  # its keys: the properties that changed


class ReportedSummarizer:
    """Turns the stream of reported changes into at most one `reported` change-log entry per machine per
    `every_s` (the first change of a machine is logged at once): which properties changed, how many updates,
    and the latest values; and, through `SettingsLog`, one `settings` entry per change of a machine's
    reported settings (exact, with device timestamps; rate-capped)."""

    def __init__(self, every_s: float = 60.0, settings: SettingsLog | None = None) -> None:
        self.every_s = every_s
        self._every = timedelta(seconds=every_s)
        self._windows: dict[str, _Window] = {}
        self.settings = settings if settings is not None else SettingsLog()

    def observe(
        self, changed: Sequence[str], updates: Sequence[TwinUpdate], now: datetime
    ) -> list[dict[str, Any]]:
        """The entries this batch makes due: settings changes first, then the per-minute summaries."""
        by_id = {u.id: u for u in updates}
        due: list[dict[str, Any]] = self.settings.observe(changed, by_id, now)
        windows, every = self._windows, self._every
        for machine_id in changed:
            u = by_id.get(machine_id)
            if u is None:
                continue
            w = windows.get(machine_id)
            first = w is None
            if w is None:
                w = windows[machine_id] = _Window(start=now, ends=now)
            w.updates += 1
            latest = w.latest
            latest.update(u.readings)
            if u.reported:
                latest.update(u.reported)
            if now >= w.ends:
                due.append(
                    {
                        "machine_id": machine_id,
                        "ts": now,
                        "kind": "reported",
                        "version": None,
                        "details": {
                            "since": w.start.isoformat(),
                            "updates": w.updates,
                            "properties": sorted(latest),
                            "latest": dict(latest),
                        },
                    }
                )
                # after a machine's first entry its window ends within one period, by a phase of its id
                # (kit/spread.py): a fleet met in one batch is summarised over the period, not in one batch
                ends = now + (every * (1.0 - phase(machine_id)) if first else every)
                windows[machine_id] = _Window(start=now, ends=ends)
        return due


@dataclass
class _Settings:
    """One machine's reported settings as the log knows them, and its rate window."""

    cached_at: datetime
    window_start: datetime
    known: dict[str, tuple[Any, str]] = field(default_factory=dict)  # name -> (value, device ts)
    logged: int = 0  # entries in the current window
    held: dict[str, tuple[Any, str]] = field(default_factory=dict)  # changes over the cap, newest each
    held_since: dict[str, str] = field(default_factory=dict)  # name -> device ts of its first held change
    held_changes: int = 0


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)  # 1, 1.0 and true are different settings


class SettingsLog:
    """Each change of a machine's reported settings (not sensor readings) as its own `settings` entry:
    `details = {"settings": {name: value}, "times": {name: device ts}}`, entry `ts` = the oldest of those
    device timestamps. A value counts as a change as apply.lua counts it: newer device time than the one
    known and a different value (ties: the first value received stays). Per batch and in memory, no
    database round trip: it works on what the consumer already has (the batch's updates and the ids
    apply.lua changed).

    Bounded: at most `per_minute` entries per machine per minute (contracts/limits.py); changes beyond are
    held (newest value per setting) and logged as one entry with `coalesced` (how many changes it stands
    for) and `held_since` (per setting, the device time of its first held change: values in between are
    not in the log) by the first batch after the minute. Held changes are lost if the process stops first
    (as any change-log entry is on a failed write; logged)."""

    def __init__(
        self, per_minute: int = MAX_SETTINGS_ENTRIES_PER_MIN, refresh_s: float = SETTINGS_REFRESH_S
    ) -> None:
        self.per_minute = per_minute
        self.refresh_s = refresh_s
        self._machines: dict[str, _Settings] = {}
        self._holding: set[str] = set()

    def observe(
        self, changed: Sequence[str], updates: dict[str, TwinUpdate], now: datetime
    ) -> list[dict[str, Any]]:
        due = self._release_held(now) if self._holding else []
        for machine_id in changed:
            u = updates.get(machine_id)
            if u is None or not u.reported:
                continue
            m = self._machines.get(machine_id)
            if m is None:
                m = self._machines[machine_id] = _Settings(cached_at=now, window_start=now)
            elif (now - m.cached_at).total_seconds() >= self.refresh_s:
                m.known, m.cached_at = {}, now  # log them again (their rate window and held changes stay)
            diff: dict[str, tuple[Any, str]] = {}
            for name, value in u.reported.items():
                ts = u.times.get(f"p:{name}", u.ts)
                cur = m.known.get(name)
                if cur is not None and ts <= cur[1]:
                    continue  # not newer than what the twin has: apply.lua keeps the stored value
                m.known[name] = (value, ts)
                if cur is None or not _same(value, cur[0]):
                    diff[name] = (value, ts)
            if not diff:
                continue
            if (now - m.window_start).total_seconds() >= 60.0:
                m.window_start, m.logged = now, 0
            if m.logged < self.per_minute and not m.held:
                m.logged += 1
                due.append(_settings_entry(machine_id, diff))
                continue
            for name, (value, ts) in diff.items():
                m.held[name] = (value, ts)
                m.held_since.setdefault(name, ts)
            m.held_changes += 1
            self._holding.add(machine_id)
        return due

    def _release_held(self, now: datetime) -> list[dict[str, Any]]:
        """Held changes of machines whose minute is over, one coalesced entry each."""
        due: list[dict[str, Any]] = []
        for machine_id in list(self._holding):
            m = self._machines[machine_id]
            if (now - m.window_start).total_seconds() < 60.0:
                continue
            entry = _settings_entry(machine_id, m.held)
            entry["details"]["coalesced"] = m.held_changes
            entry["details"]["held_since"] = dict(m.held_since)
            due.append(entry)
            log.warning("settings_changes_coalesced", machine_id=machine_id, changes=m.held_changes)
            m.window_start, m.logged = now, 1
            m.held, m.held_since, m.held_changes = {}, {}, 0
            self._holding.discard(machine_id)
        return due


def _settings_entry(machine_id: str, values: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    times = {name: ts for name, (_, ts) in values.items()}
    return {
        "machine_id": machine_id,
        "ts": datetime.fromisoformat(min(times.values())),
        "kind": "settings",
        "version": None,
        "details": {"settings": {name: v for name, (v, _) in values.items()}, "times": times},
    }
