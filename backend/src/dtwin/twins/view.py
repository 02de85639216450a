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

from dtwin.twins.merge_patch import delta
from dtwin.twins.store import decode_twin


def new_twin(item: dict[str, Any]) -> dict[str, Any]:
    """The decoded shape of a twin first seen through a telemetry delta."""
    twin = decode_twin(item["id"], {})
    seen = item.get("last_seen")
    twin.update(last_seen=seen, created_at=seen, updated_at=seen)
    twin.update({f: item[f] for f in ("machine_type", "site", "line") if item.get(f) is not None})
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

    def apply(self, msg: dict[str, Any]) -> None:
        """Apply one change-stream message (`type: twins`; other streams are ignored)."""
        seq = int(msg.get("seq", 0))
        if seq > self.seq:
            self.seq = seq
        if msg.get("type") != "twins":
            return
        for item in msg["items"]:
            self.apply_item(item)

    def apply_item(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        machine_id = item["id"]
        twin = self.twins.get(machine_id)
        if kind == "reported":
            if twin is None:
                twin = self.twins[machine_id] = new_twin(item)
            elif int(item.get("version") or 0) <= twin["version"]:
                return  # already reflected (the load read a newer state)
            twin["readings"] = {**twin["readings"], **item.get("readings", {})}
            if item.get("reported"):
                twin["reported"] = {**twin["reported"], **item["reported"]}
            for f in ("machine_type", "site", "line", "ts", "quality", "last_seen"):
                if item.get(f) is not None:
                    twin[f] = item[f]
            twin["updated_at"] = item.get("last_seen") or twin["updated_at"]
            twin["version"] = int(item.get("version") or twin["version"])
            if twin["desired"]:
                twin["delta"] = delta(twin["desired"], {**twin["readings"], **twin["reported"]})
        elif kind == "twin":
            if twin is None or int(item.get("version") or 0) >= twin["version"]:
                fresh = {k: v for k, v in item.items() if k != "kind"}
                self.twins[machine_id] = fresh
        elif kind == "analytics":
            if twin is not None:
                for f in ("health", "anomaly_score", "strategy"):
                    twin[f] = item.get(f)
        elif kind == "status":
            if twin is not None:
                twin["status_known"] = item.get("status")
        elif kind == "removed":
            self.twins.pop(machine_id, None)

    def get(self, machine_id: str) -> dict[str, Any] | None:
        return self.twins.get(machine_id)

    def all(self) -> list[dict[str, Any]]:
        return list(self.twins.values())
