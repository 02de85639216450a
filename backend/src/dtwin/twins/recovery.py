"""Noticing that Redis lost the live twins, and rebuilding them from their durable copies.

Redis holds a marker key (`{prefix}:epoch`) written once the twins in it are complete (after a rebuild, or
at the first start of a platform with nothing to rebuild). A Redis that restarted empty (or was flushed, or
failed over to an empty replica) has no marker, however quickly telemetry recreates active twins, so the
marker is what decides, not emptiness. Every backend checks it at startup and every `check_s`; one of them
(a lock with expiry) rebuilds and writes a new marker, the others wait for it. The rebuild merges (see
`TwinStore.restore`), so it is safe while telemetry keeps flowing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis
import structlog

from dtwin.contracts.topics import RedisKeys
from dtwin.twins.rebuild import RebuildReport

log = structlog.get_logger(__name__)

LOCK_TTL_S = 600  # a rebuild that takes longer lets another backend start over (the merge is idempotent)


class StateGuard:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: RedisKeys,
        rebuild: Callable[[], Awaitable[RebuildReport]],
        *,
        check_s: float = 5.0,
    ) -> None:
        self.redis = redis
        self.marker = f"{keys.prefix}:epoch"
        self.lock = f"{keys.prefix}:rebuild-lock"
        self.rebuild = rebuild
        self.check_s = check_s
        self.rebuilds = 0
        self.last_recovery_s: float | None = None  # how long the last detected loss took to repair

    async def intact(self) -> bool:
        return bool(await self.redis.exists(self.marker))

    async def ensure(self) -> bool:
        """Make sure the twins in Redis are complete: rebuild them when the marker is missing (a first start
        or a lost Redis; the rebuild finds nothing to do on the former). True if this call rebuilt."""
        if await self.intact():
            return False
        token = uuid.uuid4().hex
        if not await self.redis.set(self.lock, token, nx=True, ex=LOCK_TTL_S):
            await self._wait_for_marker()
            return False
        try:
            if await self.intact():  # another backend finished meanwhile
                return False
            report = await self.rebuild()
            epoch = f"{datetime.now(UTC).isoformat()} {token}"
            await self.redis.set(self.marker, epoch)
            self.rebuilds += 1
            log.info("twin_state_epoch", epoch=epoch, restored=report.restored)
            return True
        finally:
            if await self.redis.get(self.lock) == token.encode():
                await self.redis.delete(self.lock)

    async def _wait_for_marker(self) -> None:
        deadline = time.monotonic() + LOCK_TTL_S
        while not await self.intact():
            if time.monotonic() > deadline:
                return  # the rebuilding backend died: the next check takes the expired lock
            await asyncio.sleep(0.5)

    async def run(self) -> None:
        """Check the marker every `check_s`; a missing one means Redis lost state: rebuild."""
        while True:
            await asyncio.sleep(self.check_s)
            if await self.intact():
                continue
            started = time.monotonic()
            log.error("redis_state_lost", marker=self.marker, action="rebuilding twins from durable copies")
            if await self.ensure():
                self.last_recovery_s = time.monotonic() - started
                log.info("redis_state_recovered", seconds=round(self.last_recovery_s, 2))
