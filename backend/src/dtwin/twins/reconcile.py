"""Desired-state reconciler: sends a twin's desired state again while its device does not report it (a device
that missed the command or rebooted to its defaults, a broker restarted without its retained messages, a
command Kafka refused), with backoff per machine. One backend process reconciles at a time (a Redis lease)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog

from dtwin.twins.service import AWAITING_PLACEMENT, RESENDABLE, CommandNotDelivered, TwinService

log = structlog.get_logger(__name__)

# take the lease if it is free, else renew it if it is ours: one round trip, atomic
HOLD_LEASE_LUA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
RELEASE_LEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class ReconcileConfig:
    interval_s: float = 30.0
    resend_after_s: float = 60.0
    max_backoff_s: float = 900.0
    max_per_cycle: int = 500

    @property
    def lease_ms(self) -> int:
        """The lease outlives three passes: a holder that died is replaced after that long."""
        return int(max(3 * self.interval_s, 5.0) * 1000)


@dataclass
class _Resends:
    version: int  # the desired version they were for (a new version starts over)
    count: int
    last_at: float  # clock() of the last one


def _epoch(ts: str | None) -> float:
    if not ts:
        return 0.0
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return 0.0


class Reconciler:
    """Every `interval_s`, while it holds the lease, finds the twins whose delta is not empty, that have a
    placement (site/line) and whose newest command is RESENDABLE (or `awaiting_placement`), and re-publishes
    their desired document (`TwinService.resend_desired`, the path PATCH uses) once the device has not
    reported it for `resend_after_s` after the command, then after 2x, 4x, ... that, at most
    `max_backoff_s` apart; at most `max_per_cycle` per pass, the most overdue first.

    The re-send count lives in the lease holder's memory: a process that takes the lease over starts each
    machine at the first wait again (at worst one early re-send per machine, which the device answers
    idempotently)."""

    def __init__(
        self,
        service: TwinService,
        redis: aioredis.Redis,
        lease_key: str,
        config: ReconcileConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.service = service
        self.redis = redis
        self.lease_key = lease_key
        self.config = config or ReconcileConfig()
        self.clock = clock
        self.owner = owner or uuid.uuid4().hex
        self._hold = redis.register_script(HOLD_LEASE_LUA)
        self._release = redis.register_script(RELEASE_LEASE_LUA)
        self._resends: dict[str, _Resends] = {}
        self.resent = 0

    async def hold_lease(self) -> bool:
        held = await self._hold(keys=[self.lease_key], args=[self.owner, self.config.lease_ms])
        return bool(held)

    async def release_lease(self) -> None:
        await self._release(keys=[self.lease_key], args=[self.owner])

    async def cycle(self) -> int:
        """One pass if this process holds (or takes) the lease. Returns how many twins were re-sent."""
        if not await self.hold_lease():
            self._resends.clear()  # another process reconciles; its counts are its own
            return 0
        return await self.reconcile_once()

    def due_at(self, machine_id: str, version: int, command_ts: str | None) -> float:
        r = self._resends.get(machine_id)
        if r is None or r.version != version:
            return _epoch(command_ts) + self.config.resend_after_s
        wait = min(self.config.resend_after_s * 2.0**r.count, self.config.max_backoff_s)
        return r.last_at + wait

    def candidates(self, fleet: list[dict[str, Any]]) -> list[tuple[float, str, int]]:
        """(due at, machine id, desired version) of every twin waiting for its device to report its
        desired state; forgets the re-sends of twins that converged, changed or went away."""
        out: list[tuple[float, str, int]] = []
        for t in fleet:
            cmd = t["command"]
            if not t["delta"] or cmd is None or t["site"] is None or t["line"] is None:
                continue
            if cmd["version"] != t["desired_version"]:
                continue
            if cmd["status"] not in RESENDABLE and cmd["status"] != AWAITING_PLACEMENT:
                continue
            out.append((self.due_at(t["id"], t["desired_version"], cmd["ts"]), t["id"], t["desired_version"]))
        waiting = {m: v for _, m, v in out}
        for machine_id in [m for m, r in self._resends.items() if waiting.get(m) != r.version]:
            del self._resends[machine_id]
        return out

    async def reconcile_once(self) -> int:
        now = self.clock()
        due = sorted(c for c in self.candidates(await self.service.fleet()) if c[0] <= now)
        sent = 0
        for _, machine_id, version in due[: self.config.max_per_cycle]:
            try:
                if await self.service.resend_desired(machine_id):
                    sent += 1
            except CommandNotDelivered:
                log.warning("desired_resend_not_delivered", machine_id=machine_id, version=version)
            except Exception as exc:  # this twin only; the pass goes on, the next one retries it
                log.error(
                    "desired_resend_failed", machine_id=machine_id, error=f"{type(exc).__name__}: {exc}"
                )
            prev = self._resends.get(machine_id)
            count = prev.count + 1 if prev is not None and prev.version == version else 1
            self._resends[machine_id] = _Resends(version, count, now)
        if sent:
            self.resent += sent
            log.info("desired_resent", twins=sent, overdue=len(due))
        return sent

    async def run(self) -> None:
        try:
            while True:
                await self.cycle()
                await asyncio.sleep(self.config.interval_s)
        finally:
            try:
                await asyncio.shield(self.release_lease())  # hand over at once on shutdown
            except Exception as exc:
                log.warning("reconciler_lease_not_released", error=f"{type(exc).__name__}: {exc}")
