"""Bounded names: how many machine types, and per machine type how many distinct sensor and `reported`
property names, the platform accepts (`Limits`). A device that invents names could otherwise grow every
twin hash, the scorer's per-type state and the dashboard without end. The admitted names live in Redis (a
set per machine type and kind, shared by every backend process) and are cached in the process, so only a
batch that brings a name this process has not seen yet costs a round trip. A message that would go past a
limit is rejected whole (dead-letter topic, reason "sensor limit" and the names it tried to add)."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from dtwin.contracts.limits import Limits
from dtwin.contracts.telemetry import Rejection, Telemetry
from dtwin.contracts.topics import RedisKeys

# KEYS: the sets; ARGV[1..3]: limits of kinds t (machine types), r (sensors), p (reported);
# then triples (index into KEYS, kind, name). Returns 1 (admitted) or 0 (over the limit) per triple.
ADMIT_LUA = """
local limits = {t = tonumber(ARGV[1]), r = tonumber(ARGV[2]), p = tonumber(ARGV[3])}
local out = {}
for i = 4, #ARGV, 3 do
  local key, kind, name = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
  if redis.call('SISMEMBER', key, name) == 1 then
    out[#out + 1] = 1
  elseif redis.call('SCARD', key) < limits[kind] then
    redis.call('SADD', key, name)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""

_KIND_WORD = {"t": "machine type", "r": "sensor", "p": "reported property"}
_CODE = {"t": "type_limit", "r": "sensor_limit", "p": "reported_limit"}


class NameLimits:
    """Admits the names of a batch's messages under the per-type limits, one Redis call at most."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, limits: Limits) -> None:
        self.redis = redis
        self.keys = keys
        self.limits = limits
        self._admit = redis.register_script(ADMIT_LUA)
        self._types: set[str] = set()
        self._known: dict[tuple[str, str], set[str]] = {}  # (machine type, kind) -> admitted names

    def _key(self, machine_type: str, kind: str) -> str:
        return self.keys.names("types", "t") if kind == "t" else self.keys.names(machine_type, kind)

    def _limit(self, kind: str) -> int:
        lim = self.limits
        by_kind = {"t": lim.max_machine_types, "r": lim.max_sensors_per_type, "p": lim.max_reported_per_type}
        return by_kind[kind]

    def _unknown(self, t: Telemetry) -> list[tuple[str, str]]:
        """(kind, name) pairs of this message this process has not admitted yet."""
        mt = t.machine_type
        out: list[tuple[str, str]] = []
        if mt not in self._types:
            out.append(("t", mt))
        known = self._known.get((mt, "r"))
        if known is None or not known.issuperset(t.readings):
            out += [("r", n) for n in t.readings if known is None or n not in known]
        if t.reported:
            known = self._known.get((mt, "p"))
            if known is None or not known.issuperset(t.reported):
                out += [("p", n) for n in t.reported if known is None or n not in known]
        return out

    async def check(self, items: Sequence[Telemetry]) -> list[Rejection | None]:
        """Per message: None if all its names are admitted, else the rejection saying which limit."""
        pending: dict[int, list[tuple[str, str]]] = {}
        triples: dict[tuple[str, str, str], int] = {}  # (type, kind, name) -> position in the call
        for i, t in enumerate(items):
            unknown = self._unknown(t)
            if unknown:
                pending[i] = unknown
                for kind, name in unknown:
                    triples.setdefault((t.machine_type, kind, name), len(triples))
        if not triples:
            return [None] * len(items)
        keys: dict[str, int] = {}
        args: list[str | int] = [self._limit("t"), self._limit("r"), self._limit("p")]
        for mt, kind, name in triples:
            key = self._key(mt, kind)
            args += [keys.setdefault(key, len(keys) + 1), kind, name]
        answers: list[int] = await self._admit(keys=list(keys), args=args)
        admitted = {trip for trip, pos in triples.items() if answers[pos] == 1}
        for mt, kind, name in admitted:
            if kind == "t":
                self._types.add(name)
            else:
                self._known.setdefault((mt, kind), set()).add(name)
        out: list[Rejection | None] = [None] * len(items)
        for i, unknown in pending.items():
            t = items[i]
            refused = [(k, n) for k, n in unknown if (t.machine_type, k, n) not in admitted]
            if refused:
                kind = refused[0][0]
                names = ", ".join(n for k, n in refused if k == kind)
                out[i] = Rejection(
                    f"{_KIND_WORD[kind]} limit: machine type {t.machine_type!r} already has the most "
                    f"distinct {_KIND_WORD[kind]} names allowed ({self._limit(kind)}); new: {names[:300]}"
                    if kind != "t"
                    else f"machine type limit: {self._limit('t')} machine types exist; new: {names[:100]}",
                    t.machine_id,
                    _CODE[kind],
                )
        return out
