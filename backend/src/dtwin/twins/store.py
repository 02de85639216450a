"""Redis layout of the live twin: one hash per machine (`dtwin:twin:{id}`), a set of known ids, and the
pub/sub channel that carries compact updates to every backend process's WebSocket clients.

Hash fields: machine_type, site, line, ts (device time of the newest reading), last_seen (receive time),
quality, version, created_at, updated_at; per sensor `r:<sensor>` (JSON value) and `tr:<sensor>` (its
timestamp); per reported device property `p:<name>` and `tp:<name>`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from dtwin.contracts.topics import RedisKeys


def _s(v: bytes | None) -> str | None:
    return v.decode() if v is not None else None


APPLY_LUA = (Path(__file__).parent / "apply.lua").read_text()


class TwinStore:
    """Live twin state in Redis. `apply()` runs apply.lua: per-property timestamps decide what is written,
    so late or out-of-order telemetry never overwrites a newer value; version increments on change."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._apply = redis.register_script(APPLY_LUA)

    async def apply(self, updates: Sequence[dict[str, Any]], last_seen: str) -> int:
        """Apply a batch of TwinUpdate-shaped dicts (optionally with `times`: {"r:<sensor>"|"p:<prop>": ts}
        for properties older than the update's ts) in one round trip; publishes the effective changes.
        Returns how many twins changed."""
        if not updates:
            return 0
        keys = [self.keys.twin_index, *(self.keys.twin(u["id"]) for u in updates)]
        changed = await self._apply(
            keys=keys, args=[orjson.dumps(list(updates)), last_seen, self.keys.updates_channel]
        )
        return int(changed)

    async def ids(self) -> list[str]:
        members: set[bytes] = await self.redis.smembers(self.keys.twin_index)  # type: ignore[assignment]
        return sorted(m.decode() for m in members)

    async def get(self, machine_id: str) -> dict[str, Any] | None:
        raw: dict[bytes, bytes] = await self.redis.hgetall(self.keys.twin(machine_id))  # type: ignore[assignment]
        return self._decode(machine_id, raw) if raw else None

    async def get_all(self) -> list[dict[str, Any]]:
        ids = await self.ids()
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for machine_id in ids:
            pipe.hgetall(self.keys.twin(machine_id))
        results = await pipe.execute()
        return [self._decode(m, raw) for m, raw in zip(ids, results, strict=True) if raw]

    async def exists(self, machine_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.twin(machine_id)))

    @staticmethod
    def _decode(machine_id: str, raw: dict[bytes, bytes]) -> dict[str, Any]:
        readings: dict[str, float] = {}
        reported: dict[str, Any] = {}
        for k, v in raw.items():
            if k.startswith(b"r:"):
                readings[k[2:].decode()] = float(orjson.loads(v))
            elif k.startswith(b"p:"):
                reported[k[2:].decode()] = orjson.loads(v)
        return {
            "id": machine_id,
            "machine_type": _s(raw.get(b"machine_type")) or "unknown",
            "site": _s(raw.get(b"site")),
            "line": _s(raw.get(b"line")),
            "ts": _s(raw.get(b"ts")),
            "last_seen": _s(raw.get(b"last_seen")),
            "quality": _s(raw.get(b"quality")) or "good",
            "version": int(raw.get(b"version", b"0")),
            "created_at": _s(raw.get(b"created_at")),
            "updated_at": _s(raw.get(b"updated_at")),
            "readings": dict(sorted(readings.items())),
            "reported": dict(sorted(reported.items())),
        }
