"""The dispatcher: claims due outbox rows, sends them through their channel and writes the outcome. Runs in
every backend process (a supervised lifespan task); the claim's `FOR UPDATE SKIP LOCKED` keeps N of them
apart on PostgreSQL.

- **At least once.** A claimed row is `sending` under a lease (`DTWIN_NOTIFY_LEASE_S`); a worker killed
  after sending but before writing "delivered" leaves it to be claimed again when the lease ends. Every
  attempt carries the same idempotency key, so the receiver can drop the repeat.
- **Never blocking.** Sends run concurrently (up to `concurrency`), each under `send_timeout_s`; the loop
  claims more while slow ones are still out.
- **Retries.** A transient failure comes back after an exponential backoff with jitter (tenacity's
  `wait_exponential_jitter`); after `max_attempts` attempts, or at once for a permanent failure, the row
  is dead (retryable through the API).
- **Digest.** Before a row's first attempt: if its route's recipients already got `digest_threshold`
  messages within `digest_window_s`, the row joins the route's open digest (one is opened, due a window
  later), which goes out as one summary."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState, Retrying, wait_exponential_jitter

from dtwin.core.db import transaction
from dtwin.kit.failures import describe
from dtwin.notifications.channels import Channel, Delivery, DeliveryError, PermanentError, RouteInfo
from dtwin.notifications.models import NotificationOutboxRow, NotificationRouteRow
from dtwin.notifications.repository import OutboxRepository, RouteRepository
from dtwin.notifications.routing import Clock, utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DispatchConfig:
    poll_interval_s: float = 2.0
    max_attempts: int = 8
    send_timeout_s: float = 10.0
    lease_s: float = 120.0
    backoff_initial_s: float = 5.0
    backoff_max_s: float = 900.0
    digest_threshold: int = 10
    digest_window_s: float = 300.0
    concurrency: int = 16


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        config: DispatchConfig | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.config = config or DispatchConfig()
        self.clock = clock
        self._wake = asyncio.Event()
        c = self.config
        self._wait = wait_exponential_jitter(
            multiplier=c.backoff_initial_s, max=c.backoff_max_s, jitter=c.backoff_initial_s
        )
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due rows now (called after a commit that added some)."""
        self._wake.set()

    def backoff(self, attempt: int) -> float:
        """Seconds before the next attempt after failed attempt number `attempt` (1, 2, ...)."""
        state = RetryCallState(Retrying(), None, (), {})
        state.attempt_number = attempt
        return float(self._wait(state))

    # ---------------------------------------------------------------------------------------- the loop

    async def run(self) -> None:
        """Forever: claim what is due while there is room, send each in its own task; wait for a wake-up,
        a send to finish or the poll interval."""
        try:
            while True:
                self._wake.clear()
                free = self.config.concurrency - len(self._inflight)
                claimed: list[NotificationOutboxRow] = []
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except Exception as exc:  # the database is out: try again after the poll interval
                        log.warning("notifications_claim_failed", error=describe(exc))
                for row in claimed:
                    task = asyncio.create_task(self.deliver(row), name=f"notification-{row.id}")
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
                if claimed and len(claimed) == free:
                    continue  # there may be more due
                await self._idle()
        finally:
            for task in list(self._inflight):  # rows in flight stay `sending`: retried after their lease
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await self.aclose()

    async def _idle(self) -> None:
        waker = asyncio.create_task(self._wake.wait())
        try:
            await asyncio.wait(
                {waker, *self._inflight},
                timeout=self.config.poll_interval_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waker

    async def run_once(self, limit: int | None = None) -> int:
        """Claim what is due now and deliver all of it (tests and tools); the number of rows claimed."""
        rows = await self.claim(limit or self.config.concurrency)
        await asyncio.gather(*(self.deliver(r) for r in rows))
        return len(rows)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.aclose()

    # ------------------------------------------------------------------------------------------- steps

    async def claim(self, limit: int) -> list[NotificationOutboxRow]:
        now = self.clock()
        async with transaction(self.sessions) as session:
            rows = await OutboxRepository(session).claim(
                now, now + timedelta(seconds=self.config.lease_s), limit
            )
        lost = [r for r in rows if r.attempts > self.config.max_attempts]
        for row in lost:  # its worker died during the last attempt allowed
            await self._settle(row, PermanentError("lease expired during the last attempt"))
        return [r for r in rows if r.attempts <= self.config.max_attempts]

    async def deliver(self, row: NotificationOutboxRow) -> None:
        """Fold into a digest, or send and write the outcome. Never raises (but when cancelled): a row
        whose outcome could not be written is claimed again after its lease."""
        try:
            if await self._folded(row):
                return
            try:
                await self.send(row)
            except Exception as exc:
                await self._settle(row, exc)
            else:
                await self._settle(row, None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("notification_outcome_not_written", id=row.id, error=describe(exc))

    async def send(self, row: NotificationOutboxRow) -> None:
        """One attempt: read the route and (for a digest) its members, then the channel's send under the
        timeout. Raises what failed."""
        async with self.sessions() as session:
            route = await RouteRepository(session).get(row.route_id) if row.route_id is not None else None
            members = await OutboxRepository(session).members(row.id) if row.kind == "digest" else []
        if route is None:
            raise PermanentError(f"route {row.route_id} no longer exists")
        if not route.enabled:
            raise _Disabled(f"route {route.name} is disabled")
        channel = self.channels.get(row.channel)
        if channel is None:
            raise PermanentError(f"no {row.channel} channel in this process")
        delivery = _delivery(row, route, members)
        try:
            async with asyncio.timeout(self.config.send_timeout_s):
                await channel.send(delivery)
        except TimeoutError as exc:
            raise TimeoutError(f"no answer within {self.config.send_timeout_s:g} s") from exc
        if row.kind == "digest":
            row.payload = {**row.payload, "count": len(members), "items": delivery.members}

    async def _settle(self, row: NotificationOutboxRow, error: BaseException | None) -> None:
        now = self.clock()
        async with transaction(self.sessions) as session:
            repo = OutboxRepository(session)
            if error is None:
                payload = row.payload if row.kind == "digest" else None
                done = await repo.mark_delivered(row.id, row.attempts, now, payload)
                log.info("notification_delivered", id=row.id, channel=row.channel, attempts=row.attempts)
            elif isinstance(error, _Disabled):
                done = await repo.mark_cancelled(row.id, row.attempts, str(error))
            else:
                reason = _reason(error)
                final = isinstance(error, PermanentError) or row.attempts >= self.config.max_attempts
                retry_at = None if final else now + timedelta(seconds=self.backoff(row.attempts))
                done = await repo.mark_failed(row.id, row.attempts, reason, retry_at)
                log.warning(
                    "notification_failed",
                    id=row.id,
                    channel=row.channel,
                    attempt=row.attempts,
                    dead=final,
                    error=reason,
                )
        if not done:
            log.info("notification_outcome_superseded", id=row.id, attempt=row.attempts)

    async def _folded(self, row: NotificationOutboxRow) -> bool:
        """Join the route's digest instead of going out alone, when its recipients already had their
        fill within the window (first attempts of notices and escalations only)."""
        c = self.config
        if row.kind not in ("notice", "escalation") or row.attempts != 1 or row.route_id is None:
            return False
        now = self.clock()
        async with transaction(self.sessions) as session:
            repo = OutboxRepository(session)
            since = now - timedelta(seconds=c.digest_window_s)
            if await repo.sent_recently(row.route_id, since, row.id) < c.digest_threshold:
                return False
            await RouteRepository(session).lock(row.route_id)
            digest_id = await repo.open_digest(row.route_id)
            if digest_id is None:
                digest_id = await repo.add(
                    {
                        "idempotency_key": f"digest:r{row.route_id}:{row.id}",
                        "kind": "digest",
                        "alarm_id": None,
                        "route_id": row.route_id,
                        "channel": row.channel,
                        "target": row.target,
                        "tier": row.tier,
                        "priority": None,
                        "payload": {},
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now + timedelta(seconds=c.digest_window_s),
                        "created_at": now,
                    }
                )
            folded = await repo.fold(row.id, row.attempts, digest_id)
        if folded:
            log.info("notification_digested", id=row.id, digest=digest_id, route=row.route_id)
        return folded


def _reason(error: BaseException) -> str:
    """Why an attempt failed, for `last_error`: our own errors say it themselves; others by type and first
    line (kit.failures.describe)."""
    if isinstance(error, DeliveryError | TimeoutError) and str(error):
        return str(error)
    return describe(error)


class _Disabled(Exception):
    """The route was disabled after the row was written: the row is cancelled."""


def _member(row: NotificationOutboxRow) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "tier": row.tier, "notice": row.payload.get("notice", {})}


def _delivery(
    row: NotificationOutboxRow, route: NotificationRouteRow, members: list[NotificationOutboxRow]
) -> Delivery:
    return Delivery(
        id=row.id,
        key=row.idempotency_key,
        kind=row.kind,
        channel=row.channel,
        target=row.target,
        tier=row.tier,
        payload=row.payload,
        route=RouteInfo(
            id=route.id,
            name=route.name,
            secret=route.secret,
            body_template=route.body_template,
            content_type=route.content_type,
        ),
        members=[_member(m) for m in members],
    )
