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

# Per message, all or nothing: a message is admitted only if every name it brings fits under its limit, so a
# refused message takes no capacity. KEYS: the sets; ARGV[1..3]: the limits of kinds t (machine types),
# r (sensors), p (reported); then per message: the number of groups, and per group: index into KEYS, kind,
# number of names, the names. Returns per message '' (admitted) or the kind whose limit it would pass.
ADMIT_LUA = """
local limits = {t = tonumber(ARGV[1]), r = tonumber(ARGV[2]), p = tonumber(ARGV[3])}
local out = {}
local i = 4
while i <= #ARGV do
  local ngroups = tonumber(ARGV[i])
  i = i + 1
  local groups, refused = {}, ''
  for _ = 1, ngroups do
    local key, kind, n = KEYS[tonumber(ARGV[i])], ARGV[i + 1], tonumber(ARGV[i + 2])
    local new = {}
    for j = 1, n do
      local name = ARGV[i + 2 + j]
      if redis.call('SISMEMBER', key, name) == 0 then new[#new + 1] = name end
    end
    i = i + 3 + n
    if #new > 0 and refused == '' and redis.call('SCARD', key) + #new > limits[kind] then refused = kind end
    groups[#groups + 1] = {key, new}
  end
  if refused == '' then
    for _, g in ipairs(groups) do
      for _, name in ipairs(g[2]) do redis.call('SADD', g[1], name) end
    end
  end
  out[#out + 1] = refused
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
        keys: dict[str, int] = {}
        args: list[str | int] = [self._limit("t"), self._limit("r"), self._limit("p")]
        for i, t in enumerate(items):
            unknown = self._unknown(t)
            if not unknown:
                continue
            pending[i] = unknown
            kinds = sorted({kind for kind, _ in unknown}, key="trp".index)
            args.append(len(kinds))
            for kind in kinds:
                names = [n for k, n in unknown if k == kind]
                key = self._key(t.machine_type, kind)
                args += [keys.setdefault(key, len(keys) + 1), kind, len(names), *names]
        out: list[Rejection | None] = [None] * len(items)
        if not pending:
            return out
        answers: list[bytes | str] = await self._admit(keys=list(keys), args=args)
        for (i, unknown), answer in zip(pending.items(), answers, strict=True):
            t = items[i]
            refused = answer.decode() if isinstance(answer, bytes) else answer
            if not refused:
                for kind, name in unknown:
                    if kind == "t":
                        self._types.add(name)
                    else:
                        self._known.setdefault((t.machine_type, kind), set()).add(name)
                continue
            new = ", ".join(n for k, n in unknown if k == refused)
            if refused == "t":
                reason = f"machine type limit: {self._limit('t')} machine types exist; new: {new[:100]}"
            else:
                word = _KIND_WORD[refused]
                reason = (
                    f"{word} limit: machine type {t.machine_type!r} may have {self._limit(refused)} distinct "
                    f"{word} names and this message would add more; new: {new[:300]}"
                )
            out[i] = Rejection(reason, t.machine_id, _CODE[refused])
        return out
