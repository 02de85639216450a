"""The change stream in Redis: a counter (`seq`), a capped log of messages (for resuming and filling gaps) and
a pub/sub channel (live fan-out to every backend process). Messages are `dtwin.contracts.changes` messages;
appending one assigns its seq atomically (Lua), so every process sees the same order. apply.lua appends its
`reported` changes the same way, in the same script that changes the twins."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from dtwin.contracts import changes
from dtwin.contracts.topics import RedisKeys

# Append one message: next seq, capped log entry (resume), publish (live fan-out).
# KEYS[1] = counter, KEYS[2] = log; ARGV[1] = channel, ARGV[2] = log cap, ARGV[3] = the message's JSON without
# its seq (an object: the seq is prepended as its first member), ARGV[4] = where a missing counter starts
# (seq_floor(): after Redis lost the counter, seqs go on above every seq issued before)
EMIT_LUA = """
local seq = redis.call('INCR', KEYS[1])
if seq == 1 then seq = tonumber(ARGV[4]) + 1; redis.call('SET', KEYS[1], seq) end  -- a missing counter
local msg = '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'm', msg)
redis.call('PUBLISH', ARGV[1], msg)
return seq
"""


# EMIT_LUA, for whole twins read a moment before: appends only if every twin's version is still the one read
# (ARGV[5..]; '' for a twin that had none, KEYS[3..] their hashes). Otherwise a telemetry change appended in
# between would carry a newer version than this older copy, and readers drop changes older than what they
# hold (the copy's news, a device's command answer say, would be lost). Returns 0 then: read again.
EMIT_CURRENT_LUA = (
    """
for i = 3, #KEYS do
  local v = redis.call('HGET', KEYS[i], 'version') or ''
  if v ~= ARGV[i + 2] then return 0 end
end
"""
    + EMIT_LUA
)


SEQ_EPOCH_S = 1_577_836_800  # 2020-01-01T00:00:00Z


def seq_floor() -> int:
    """Where the change counter starts when Redis has none (a new platform, or a Redis that lost its data):
    tenths of milliseconds since 2020, so seqs never go backwards (readers skip a seq they have seen) as
    long as fewer than 10,000 a second were issued on average, and a client's `resume_after` from before
    the loss is recognised as a gap. Twin versions start the same way (TwinStore.version_floor). 13 digits
    until 2051: Redis's Lua prints and cjson encodes numbers with 14 significant digits, so they stay exact
    (and below 2^53 for JavaScript)."""
    return int((time.time() - SEQ_EPOCH_S) * 10_000)


class ChangeStream:
    def __init__(self, redis: aioredis.Redis, keys: RedisKeys, log_max: int = 2000) -> None:
        self.redis = redis
        self.keys = keys
        self.log_max = log_max
        self._emit = redis.register_script(EMIT_LUA)
        self._emit_current = redis.register_script(EMIT_CURRENT_LUA)

    @property
    def channel(self) -> str:
        return self.keys.updates_channel

    async def emit(self, message: changes.ChangeMessage, client: aioredis.Redis | None = None) -> Any:
        """Append `message` (pass a pipeline as `client` to queue it there instead). Returns its seq."""
        return await self._emit(
            keys=[self.keys.change_seq, self.keys.change_log],
            args=[self.channel, self.log_max, changes.encode(message), seq_floor()],
            client=client,
        )

    async def emit_if_current(
        self, message: changes.TwinsMessage, twin_keys: Sequence[str], versions: Sequence[bytes]
    ) -> int:
        """Append `message` only if the twins (`twin_keys`) still have the versions read (`versions`);
        returns its seq, or 0 when one of them changed meanwhile."""
        seq = await self._emit_current(
            keys=[self.keys.change_seq, self.keys.change_log, *twin_keys],
            args=[self.channel, self.log_max, changes.encode(message), seq_floor(), *versions],
        )
        return int(seq)

    async def current_seq(self) -> int:
        """The last seq issued. A missing counter is started (at seq_floor()) here too, so that the first
        change after a reader loaded this seq follows it without a gap."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.change_seq, seq_floor(), nx=True)
        pipe.get(self.keys.change_seq)
        _, seq = await pipe.execute()
        return int(seq or 0)

    async def after(self, seq: int, limit: int) -> list[changes.ChangeMessage] | None:
        """The messages after `seq`, oldest first (at most `limit`), or None when some of them are no longer
        retained (the log is capped): the reader must start again from a snapshot."""
        current = await self.current_seq()
        if current <= seq:
            return []
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self.redis.xrange(  # type: ignore[assignment]
            self.keys.change_log, min=f"{seq + 1}-0", max="+", count=limit
        )
        if not entries or int(entries[0][0].split(b"-")[0]) != seq + 1:
            return None  # trimmed away
        if int(entries[-1][0].split(b"-")[0]) < current and len(entries) >= limit:
            return None  # more missed than a replay may carry
        return [changes.decode(fields[b"m"]) for _, fields in entries]
