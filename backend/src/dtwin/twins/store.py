"""Redis layout of the live twin: one hash per machine (`dtwin:twin:{id}`), a set of known ids, and the
pub/sub channel that carries compact updates to every backend process's WebSocket clients.

Hash fields: machine_type, site, line, ts (device time of the newest reading), last_seen (receive time),
quality, version, created_at, updated_at; per sensor `r:<sensor>` (JSON value) and `tr:<sensor>` (its
timestamp); per reported device property `p:<name>` and `tp:<name>`; desired, desired_version and cmd_* (the
newest command's outcome); attributes; status_known (last status the change log recorded); health,
anomaly_score, strategy and analytics (written by the scoring stage)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from dtwin.contracts import changes
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import ChangeStream, seq_floor
from dtwin.kit.tracing import current_traceparent
from dtwin.twins.merge_patch import delta, merge_patch


def _s(v: bytes | None) -> str | None:
    return v.decode() if v is not None else None


APPLY_LUA = (Path(__file__).parent / "apply.lua").read_text()

# a device's answer counts only for the newest command it answers (acks can arrive late or twice)
RECORD_ACK_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'cmd_version') or '-1')
if tonumber(ARGV[1]) < current then return 0 end
redis.call('HSET', KEYS[1], 'cmd_version', ARGV[1], 'cmd_status', ARGV[2], 'cmd_applied', ARGV[3],
           'cmd_rejected', ARGV[4], 'cmd_at', ARGV[5], 'updated_at', ARGV[6], 'op_at', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
"""


CLAIM_STATUS_LUA = """
local old = redis.call('HGET', KEYS[1], 'status_known')
if old == ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'status_known', ARGV[1])
return old or 'new'
"""


RESTORE_LUA = """
local key = KEYS[1]
local floor = ARGV[2]
local fresh = redis.call('EXISTS', key) == 0
-- the operator's part of a twin goes together, and the newer copy (by op_at, the time of the last operator
-- change or device answer) wins as a whole: a twin recreated by telemetry after Redis lost it has no op_at
local incoming_at = nil
for i = 3, #ARGV, 2 do if ARGV[i] == 'op_at' then incoming_at = ARGV[i + 1] end end
local stored_at = redis.call('HGET', key, 'op_at')
local stored_dv = tonumber(redis.call('HGET', key, 'desired_version') or '0')
local operator_wins = false
if incoming_at and ((not stored_at) or stored_at < incoming_at) then operator_wins = true end
for i = 3, #ARGV, 2 do
  if ARGV[i] == 'desired_version' and tonumber(ARGV[i + 1]) < stored_dv then operator_wins = false end
end
for i = 3, #ARGV, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  local prefix = string.sub(f, 1, 2)
  if OPERATOR[f] then
    if operator_wins then redis.call('HSET', key, f, v) else redis.call('HSETNX', key, f, v) end
  elseif prefix == 'r:' or prefix == 'p:' then
    local tf = 't' .. f
    local tv = nil
    for j = 3, #ARGV, 2 do if ARGV[j] == tf then tv = ARGV[j + 1] end end
    local cur = redis.call('HGET', key, tf)
    if (not cur) or (tv and cur < tv) then
      redis.call('HSET', key, f, v)
      if tv then redis.call('HSET', key, tf, tv) end
    end
  elseif string.sub(f, 1, 3) == 'tr:' or string.sub(f, 1, 3) == 'tp:' then
    -- written together with its value above
  elseif f == 'version' then
    local cur = tonumber(redis.call('HGET', key, 'version') or '0')
    if fresh and tonumber(floor) > tonumber(v) then v = floor end
    if tonumber(v) > cur then redis.call('HSET', key, 'version', v) end
  elseif f == 'ts' or f == 'updated_at' then
    local cur = redis.call('HGET', key, f)
    if (not cur) or cur < v then redis.call('HSET', key, f, v) end
  else
    redis.call('HSETNX', key, f, v)
  end
end
if fresh then redis.call('HSETNX', key, 'version', floor) end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""
# The twins' hashes as JSON objects (field -> value), encoded by Redis, for state snapshots: this process does
# no per-field work for them; false for a twin that does not exist
SNAPSHOT_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    out[i] = false
  else
    local twin = {}
    for j = 1, #flat, 2 do twin[flat[j]] = flat[j + 1] end
    out[i] = cjson.encode(twin)
  end
end
return out
"""
SNAPSHOT_CHUNK = 1000  # twins per script call: Redis serves nothing else while one runs

# The fields an operator (or a device's answer to one) writes: restored as a group, the newer copy winning.
OPERATOR_FIELDS = (
    "attributes",
    "desired",
    "desired_version",
    "desired_at",
    "cmd_version",
    "cmd_status",
    "cmd_applied",
    "cmd_rejected",
    "cmd_at",
    "op_at",
)
RESTORE_LUA = (
    "local OPERATOR = {" + ", ".join(f"['{f}'] = true" for f in OPERATOR_FIELDS) + "}\n" + RESTORE_LUA
)


EMIT_TWINS_TRIES = 5


def version_floor() -> int:
    """The version a twin starts at when its hash is created: tenths of milliseconds since 2020 (as the
    change counter, core/change_stream.py seq_floor). A twin that Redis lost (a restart, an embedded
    backend's restart) and that comes back starts above any version it had before, as long as it changed
    less than 10,000 times a second on average, so an old ETag never matches again."""
    return seq_floor()


class PreconditionMismatch(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(f"desired version is {current}")
        self.current = current


class TwinStore:
    """Live twin state in Redis. `apply()` runs apply.lua: per-property timestamps decide what is written,
    so late or out-of-order telemetry never overwrites a newer value; version increments on change."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, change_log_max: int = 2000) -> None:
        self.redis = redis
        self.keys = keys
        self.stream = ChangeStream(redis, keys, change_log_max)
        self._apply = redis.register_script(APPLY_LUA)
        self._record_ack = redis.register_script(RECORD_ACK_LUA)
        self._claim_status = redis.register_script(CLAIM_STATUS_LUA)
        self._restore = redis.register_script(RESTORE_LUA)
        self._snapshot = redis.register_script(SNAPSHOT_LUA)

    async def apply(self, updates: Sequence[changes.TwinUpdate], last_seen: str) -> list[str]:
        """Apply a batch of updates in one round trip (apply.lua); publishes the effective changes as one
        `reported` change per twin that changed. Returns the ids of the twins that changed."""
        if not updates:
            return []
        keys = [
            self.keys.twin_index,
            self.keys.change_seq,
            self.keys.change_log,
            *(self.keys.twin(u.id) for u in updates),
        ]
        # one flat list of the updates' members and one blob of their readings' JSON objects (apply.lua
        # stores and publishes each value's text): two arguments, whatever the batch's size
        flat: list[object] = []
        readings: list[bytes] = []
        for u in updates:
            r = changes.encode(u.readings)
            readings.append(r)
            flat += (u.id, u.machine_type, u.site, u.line, u.ts, u.quality, len(r))
            flat += (u.reported or 0, u.times or 0)  # 0: none (the usual update)
        changed = await self._apply(
            keys=keys,
            args=[
                changes.encode(flat),
                last_seen,
                self.stream.channel,
                self.stream.log_max,
                version_floor(),
                current_traceparent() or "",
                b"".join(readings),
            ],
        )
        ids: list[str] = orjson.loads(changed) or []  # cjson writes an empty list as {}
        return ids

    async def emit_twins(self, machine_ids: Sequence[str]) -> None:
        """Publish the whole current state of these twins (after an operator or device change that is not
        a telemetry delta): `kind: twin`, or `kind: removed` for one that no longer exists."""
        for k in range(0, len(machine_ids), 500):
            chunk = machine_ids[k : k + 500]
            for _ in range(EMIT_TWINS_TRIES):
                raws = await self._hgetall_many(chunk)
                message = changes.TwinsMessage(
                    items=[
                        changes.twin_change(decode_twin(m, raw)) if raw else changes.RemovedChange(id=m)
                        for m, raw in zip(chunk, raws, strict=True)
                    ]
                )
                versions = [raw.get(b"version", b"") for raw in raws]
                if await self.stream.emit_if_current(message, [self.keys.twin(m) for m in chunk], versions):
                    break
            else:
                # Telemetry kept changing these twins meanwhile: publish the last copy read regardless.
                await self.stream.emit(message)

    async def update_desired(
        self, machine_id: str, patch: dict[str, Any], if_match: int | None, now: str
    ) -> dict[str, Any] | None:
        """Merge-patch the twin's desired state atomically (optimistic: WATCH/MULTI, retried on a race).
        Returns the updated twin, None if it does not exist; raises PreconditionMismatch when `if_match` is
        not the current desired version. The command becomes `pending` for the new desired version."""
        key = self.keys.twin(machine_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        return None
                    raw_desired, raw_version = await pipe.hmget(key, "desired", "desired_version")
                    current = int(raw_version or 0)
                    if if_match is not None and if_match != current:
                        raise PreconditionMismatch(current)
                    desired = merge_patch(orjson.loads(raw_desired) if raw_desired else {}, patch)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.hset(
                        key,
                        mapping={
                            "desired": orjson.dumps(desired),
                            "desired_version": current + 1,
                            "desired_at": now,
                            "cmd_version": current + 1,
                            "cmd_status": "pending",
                            "cmd_applied": b"{}",
                            "cmd_rejected": b"{}",
                            "cmd_at": now,
                            "updated_at": now,
                            "op_at": now,
                        },
                    )
                    pipe.hincrby(key, "version", 1)
                    await pipe.execute()
                except WatchError:
                    continue
            await self.emit_twins([machine_id])
            return await self.get(machine_id)

    async def create(
        self,
        machine_id: str,
        machine_type: str,
        site: str | None,
        line: str | None,
        attributes: dict[str, Any],
        now: str,
    ) -> bool:
        """Register a twin ahead of its first telemetry. False if it exists already."""
        key = self.keys.twin(machine_id)
        if not await self.redis.hsetnx(key, "created_at", now):
            return False
        mapping: dict[str, Any] = {
            "machine_type": machine_type,
            "attributes": orjson.dumps(attributes),
            "updated_at": now,
            "op_at": now,
            "version": version_floor(),
        }
        if site is not None:
            mapping["site"] = site
        if line is not None:
            mapping["line"] = line
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
        pipe.sadd(self.keys.twin_index, machine_id)
        await pipe.execute()
        await self.emit_twins([machine_id])
        return True

    async def set_attributes(self, machine_id: str, attributes: dict[str, Any], now: str) -> bool:
        key = self.keys.twin(machine_id)
        if not await self.redis.exists(key):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"attributes": orjson.dumps(attributes), "updated_at": now, "op_at": now})
        pipe.hincrby(key, "version", 1)
        await pipe.execute()
        await self.emit_twins([machine_id])
        return True

    async def delete(self, machine_id: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.twin(machine_id))
        pipe.srem(self.keys.twin_index, machine_id)
        deleted, _ = await pipe.execute()
        if deleted:
            await self.stream.emit(changes.TwinsMessage(items=[changes.RemovedChange(id=machine_id)]))
        return bool(deleted)

    async def set_command_status(self, machine_id: str, desired_version: int, status: str, now: str) -> bool:
        """Set the newest command's status, unless a newer command is recorded; True if it was set."""
        if await self._record_ack(
            keys=[self.keys.twin(machine_id)], args=[desired_version, status, b"{}", b"{}", now, now]
        ):
            await self.emit_twins([machine_id])
            return True
        return False

    async def record_ack(
        self,
        machine_id: str,
        version: int,
        status: str,
        applied: dict[str, Any],
        rejected: dict[str, str],
        ts: str,
        now: str,
    ) -> bool:
        """Record a device's answer on the twin, unless a newer command is already recorded."""
        done = await self._record_ack(
            keys=[self.keys.twin(machine_id)],
            args=[version, status, orjson.dumps(applied), orjson.dumps(rejected), ts, now],
        )
        if done:
            await self.emit_twins([machine_id])
        return bool(done)

    async def claim_status_change(self, machine_id: str, status: str) -> str | None:
        """Record `status` as the twin's known status; returns the previous one if this call changed it
        (exactly one caller across all backend processes wins a transition), else None."""
        old = await self._claim_status(keys=[self.keys.twin(machine_id)], args=[status])
        return old.decode() if isinstance(old, bytes) else None

    async def _hgetall_many(self, machine_ids: Sequence[str]) -> list[dict[bytes, bytes]]:
        """The twins' hashes in one round trip, in the order asked ({} for a missing one)."""
        if not machine_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for machine_id in machine_ids:
            pipe.hgetall(self.keys.twin(machine_id))
        results: list[dict[bytes, bytes]] = await pipe.execute()
        return results

    async def snapshots(self, machine_ids: Sequence[str]) -> list[bytes | None]:
        """The twins' hashes as they are in Redis, each a JSON object (field -> value) encoded by Redis, for
        the state topic; None for a missing one."""
        out: list[bytes | None] = []
        for k in range(0, len(machine_ids), SNAPSHOT_CHUNK):
            chunk = machine_ids[k : k + SNAPSHOT_CHUNK]
            raws = await self._snapshot(keys=[self.keys.twin(m) for m in chunk])
            out += [raw or None for raw in raws]
        return out

    async def status_fields(self) -> list[tuple[str, str | None, str | None, int, dict[str, Any]]]:
        """(id, last_seen, status_known, version, attributes) of every twin: what the status watcher needs,
        without reading and decoding whole twins."""
        ids = await self.ids()
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for machine_id in ids:
            pipe.hmget(self.keys.twin(machine_id), "last_seen", "status_known", "version", "attributes")
        out = []
        for machine_id, (seen, known, version, attrs) in zip(ids, await pipe.execute(), strict=True):
            if version is None and seen is None:
                continue  # deleted meanwhile
            out.append(
                (machine_id, _s(seen), _s(known), int(version or 0), orjson.loads(attrs) if attrs else {})
            )
        return out

    async def restore(self, machine_id: str, fields: dict[str, str]) -> None:
        """Merge a durable copy into the live hash without losing anything newer that arrived meanwhile:
        timestamped properties (r:/p:) win by their timestamps; the operator's fields (OPERATOR_FIELDS:
        attributes, desired state, command outcome) as a group when the copy's `updated_at` is newer (and its
        desired version not older); everything else only fills gaps; the version is the larger one, at
        least `version_floor()` for a twin that was not in Redis."""
        args: list[str] = []
        for k, v in fields.items():
            args += [k, v]
        await self._restore(
            keys=[self.keys.twin(machine_id), self.keys.twin_index], args=[machine_id, version_floor(), *args]
        )
        await self.emit_twins([machine_id])

    async def is_empty(self) -> bool:
        return int(await self.redis.scard(self.keys.twin_index)) == 0

    async def ids(self) -> list[str]:
        members: set[bytes] = await self.redis.smembers(self.keys.twin_index)  # type: ignore[assignment]
        return sorted(m.decode() for m in members)

    async def get(self, machine_id: str) -> dict[str, Any] | None:
        raw: dict[bytes, bytes] = await self.redis.hgetall(self.keys.twin(machine_id))  # type: ignore[assignment]
        return decode_twin(machine_id, raw) if raw else None

    async def get_all(self) -> list[dict[str, Any]]:
        ids = await self.ids()
        results = await self._hgetall_many(ids)
        return [decode_twin(m, raw) for m, raw in zip(ids, results, strict=True) if raw]

    async def ids_of_type(self, machine_type: str) -> list[str]:
        """Ids of the twins that have this machine type, read from Redis (the live state, not a read model
        that may lag): one pipelined HGET per twin, for rare checks such as deleting a type."""
        ids = await self.ids()
        pipe = self.redis.pipeline(transaction=False)
        for m in ids:
            pipe.hget(self.keys.twin(m), "machine_type")
        types: list[bytes | None] = await pipe.execute()
        want = machine_type.encode()
        return [m for m, t in zip(ids, types, strict=True) if t == want]

    async def exists(self, machine_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.twin(machine_id)))


def decode_twin(machine_id: str, raw: dict[bytes, bytes]) -> dict[str, Any]:
    """A twin hash as the API shapes it (an empty hash gives the shape with every default)."""
    readings: dict[str, float] = {}
    reported: dict[str, Any] = {}
    for k, v in raw.items():
        if k.startswith(b"r:"):
            readings[k[2:].decode()] = float(orjson.loads(v))
        elif k.startswith(b"p:"):
            reported[k[2:].decode()] = orjson.loads(v)
    desired: dict[str, Any] = orjson.loads(raw[b"desired"]) if b"desired" in raw else {}
    command = None
    if b"cmd_version" in raw:
        command = {
            "version": int(raw[b"cmd_version"]),
            "status": _s(raw.get(b"cmd_status")),
            "applied": orjson.loads(raw.get(b"cmd_applied", b"{}")),
            "rejected": orjson.loads(raw.get(b"cmd_rejected", b"{}")),
            "ts": _s(raw.get(b"cmd_at")),
        }
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
        "attributes": orjson.loads(raw[b"attributes"]) if b"attributes" in raw else {},
        "health": float(raw[b"health"]) if b"health" in raw else None,
        "anomaly_score": float(raw[b"anomaly_score"]) if b"anomaly_score" in raw else None,
        "strategy": _s(raw.get(b"strategy")),
        "status_known": _s(raw.get(b"status_known")),
        "desired": desired,
        "desired_version": int(raw.get(b"desired_version", b"0")),
        "delta": delta(desired, {**readings, **reported}),
        "command": command,
    }
