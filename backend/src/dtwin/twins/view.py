"""In-process read model of the fleet: every twin, decoded, kept current from the change stream.

Each backend process loads all twins once (one pipelined HGETALL) and then applies the `twins` messages of
the change stream it already receives for the WebSocket fan-out. Fleet queries (`GET /api/v1/twins`) and
WebSocket snapshots read this dict instead of fetching and decoding 10,000 hashes per request.

Consistency: a message carries the twin's version; a `reported` delta applies only over an older version and a
whole-twin message only over an older or equal one, so loading while messages arrive converges to Redis. Until
the first load finishes (or after the feed lost messages) `ready` is clear and readers fall back to Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from dtwin.contracts import changes
from dtwin.contracts.changes import (
    AnalyticsChange,
    RemovedChange,
    ReportedChange,
    StatusChange,
    TwinChange,
    WholeTwinChange,
)
from dtwin.twins.merge_patch import delta
from dtwin.twins.store import decode_twin


def new_twin(change: ReportedChange) -> dict[str, Any]:
    """The decoded shape of a twin first seen through a telemetry change (which carries its placement)."""
    twin = decode_twin(change.id, {})
    seen = change.last_seen
    twin.update(last_seen=seen, created_at=seen, updated_at=seen, version=0)
    twin.update(machine_type=change.machine_type, site=change.site, line=change.line)
    return twin


def apply_change(twin: dict[str, Any] | None, change: TwinChange) -> dict[str, Any] | None:
    """THE merge rule of the `twins` stream (the dashboard's `applyTwinChange` is its twin; the golden
    fixtures in tests/golden/changes hold both to it). Returns the twin after the change (`twin` itself,
    changed in place, or a new dict), or None when there is none: the change removed it, or it is a partial
    change of a twin not known here that cannot start one.

    - `removed`: no twin.
    - `twin`: the whole twin replaces the one held unless that one is newer (version greater).
    - `reported`: applies unless the twin held is newer (version greater). Of the same version it applies
      again, harmlessly (the values are that version's), because a client may hold only part of it: a
      subscription's `fields` projection of the change came first. Readings and reported settings merge per
      key, placement members replace, `ts` (with its quality) and `last_seen` only move forward (a later batch
      that changed nothing still touched `last_seen`); a twin not known here starts from it only when it
      carries the placement (a new twin's first change does); the delta is recomputed.
    - `analytics`, `status`: carry no version; apply to a twin that is known (a status's `last_seen` only
      when it is newer than the one held).
    """
    if isinstance(change, ReportedChange):  # nearly every change: first
        return _apply_reported(twin, change)
    if isinstance(change, RemovedChange):
        return None
    if isinstance(change, WholeTwinChange):
        if twin is not None and change.version < twin["version"]:
            return twin
        return changes.as_twin(change)
    if twin is None:
        return None
    if isinstance(change, AnalyticsChange):
        twin.update(health=change.health, anomaly_score=change.anomaly_score, strategy=change.strategy)
    elif isinstance(change, StatusChange):
        twin["status_known"] = change.status
        seen = twin["last_seen"]
        if change.last_seen is not None and (seen is None or change.last_seen > seen):
            twin["last_seen"] = change.last_seen
    return twin


def _apply_reported(twin: dict[str, Any] | None, change: ReportedChange) -> dict[str, Any] | None:
    """`apply_change` of a `reported` change (every backend applies each one: kept to plain statements)."""
    if twin is None:
        if change.machine_type is None:
            return None
        twin = new_twin(change)
    elif change.version < twin["version"]:
        return twin
    if change.readings:
        twin["readings"] = {**twin["readings"], **change.readings}
    if change.reported:
        twin["reported"] = {**twin["reported"], **change.reported}
    if change.machine_type is not None:
        twin["machine_type"] = change.machine_type
    if change.site is not None:
        twin["site"] = change.site
    if change.line is not None:
        twin["line"] = change.line
    held = twin["ts"]
    if held is None or change.ts >= held:
        twin["ts"] = change.ts
        twin["quality"] = change.quality
    seen = change.last_seen
    held = twin["last_seen"]
    if held is None or seen > held:
        twin["last_seen"] = seen
    held = twin["updated_at"]
    if held is None or seen > held:
        twin["updated_at"] = seen
    if change.version > twin["version"]:
        twin["version"] = change.version
    if twin["desired"]:
        twin["delta"] = delta(twin["desired"], {**twin["readings"], **twin["reported"]})
    return twin


class FleetView:
    def __init__(self) -> None:
        self.twins: dict[str, dict[str, Any]] = {}
        self.ready = asyncio.Event()
        self.seq = 0  # the last change-stream message reflected here

    def load(self, twins: Iterable[dict[str, Any]], seq: int) -> None:
        """Replace the content with a full read of Redis taken after change `seq`."""
        self.twins = {t["id"]: t for t in twins}
        self.seq = seq
        self.ready.set()

    def invalidate(self) -> None:
        self.ready.clear()

    def apply(self, msg: changes.ChangeMessage) -> None:
        """Apply one change-stream message (only `twins` messages change twins)."""
        if msg.seq > self.seq:
            self.seq = msg.seq
        if not isinstance(msg, changes.TwinsMessage):
            return
        for change in msg.items:
            self.apply_item(change)

    def apply_item(self, change: TwinChange) -> None:
        twin = self.twins.get(change.id)
        after = apply_change(twin, change)
        if after is None:
            self.twins.pop(change.id, None)
        elif after is not twin:
            self.twins[change.id] = after

    def get(self, machine_id: str) -> dict[str, Any] | None:
        return self.twins.get(machine_id)

    def all(self) -> list[dict[str, Any]]:
        return list(self.twins.values())
