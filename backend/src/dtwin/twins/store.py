"""Redis layout of the live twin: one hash per machine (`dtwin:twin:{id}`), a set of known ids, and the
pub/sub channel that carries compact updates to every backend process's WebSocket clients.

Hash fields: machine_type, site, line, ts (device time of the newest reading), last_seen (receive time),
quality, and one `r:<sensor>` field per sensor with its latest value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis

from dtwin.contracts.topics import RedisKeys

PUBLISH_CHUNK = 500
READING_PREFIX = b"r:"


def _s(v: bytes | None) -> str | None:
    return v.decode() if v is not None else None


class TwinStore:
    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def apply(self, updates: Sequence[dict[str, Any]], last_seen: str) -> None:
        """Write each machine's latest state (one HSET per machine) and publish the updates, in one round
        trip. `updates` are TwinUpdate-shaped dicts."""
        if not updates:
            return
        pipe = self.redis.pipeline(transaction=False)
        for u in updates:
            mapping: dict[str, str] = {
                "machine_type": u["machine_type"],
                "ts": u["ts"],
                "last_seen": last_seen,
                "quality": u["quality"],
            }
            if u["site"] is not None:
                mapping["site"] = u["site"]
            if u["line"] is not None:
                mapping["line"] = u["line"]
            for sensor, value in u["readings"].items():
                mapping[f"r:{sensor}"] = repr(value)
            pipe.hset(self.keys.twin(u["id"]), mapping=mapping)  # type: ignore[arg-type]
        pipe.sadd(self.keys.twin_index, *[u["id"] for u in updates])
        for i in range(0, len(updates), PUBLISH_CHUNK):
            chunk = updates[i : i + PUBLISH_CHUNK]
            pipe.publish(self.keys.updates_channel, orjson.dumps({"type": "updates", "items": chunk}))
        await pipe.execute()

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
        readings = {
            k[len(READING_PREFIX) :].decode(): float(v)
            for k, v in raw.items()
            if k.startswith(READING_PREFIX)
        }
        return {
            "id": machine_id,
            "machine_type": _s(raw.get(b"machine_type")) or "unknown",
            "site": _s(raw.get(b"site")),
            "line": _s(raw.get(b"line")),
            "ts": _s(raw.get(b"ts")),
            "last_seen": _s(raw.get(b"last_seen")),
            "quality": _s(raw.get(b"quality")) or "good",
            "readings": dict(sorted(readings.items())),
        }
