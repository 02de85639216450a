"""Every SQL statement of the notifications room (tables notification_routes and notification_outbox).
Takes one session; the caller owns the transaction (the outbox's `enqueue` runs in the alarm transition's).

The dispatcher's claim is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of backends
take disjoint rows; SQLite (embedded mode, one process) ignores the clause. A claimed row is `sending` with
its lease in `next_attempt_at`; every claim adds one to `attempts`, and a dispatcher writes its outcome only
while the row still carries the attempt it claimed (a fencing token: a worker whose lease ran out and was
overtaken cannot overwrite the newer attempt)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.core.db import dialect_insert
from dtwin.notifications.models import NotificationOutboxRow, NotificationRouteRow

DUE = ("pending", "sending")  # a due pending row, or a sending row whose lease ran out
# escalation rows that reached their people (or are reaching them): the alarm escalated to their route
REACHED = ("sending", "delivered", "digested", "dead")


@dataclass(frozen=True)
class OutboxFilter:
    status: str | None = None
    alarm_id: int | None = None
    route_id: int | None = None
    kind: str | None = None


def _error(text: str) -> str:
    return text[:1000]


class RouteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, *, enabled_only: bool = False) -> list[NotificationRouteRow]:
        q = select(NotificationRouteRow)
        if enabled_only:
            q = q.where(NotificationRouteRow.enabled.is_(True))
        return list(
            (
                await self.session.scalars(q.order_by(NotificationRouteRow.tier, NotificationRouteRow.name))
            ).all()
        )

    async def get(self, route_id: int) -> NotificationRouteRow | None:
        return await self.session.get(NotificationRouteRow, route_id)

    async def by_ids(self, ids: Sequence[int]) -> dict[int, NotificationRouteRow]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            select(NotificationRouteRow).where(NotificationRouteRow.id.in_(set(ids)))
        )
        return {r.id: r for r in rows}

    async def lock(self, route_id: int) -> None:
        """Hold the route's row until the transaction ends (PostgreSQL; SQLite serialises writers anyway):
        dispatchers folding the route's flood into its digest take turns, so they open one digest, not
        one each."""
        await self.session.execute(
            select(NotificationRouteRow.id).where(NotificationRouteRow.id == route_id).with_for_update()
        )

    async def name_taken(self, name: str, *, other_than: int | None = None) -> bool:
        q = select(NotificationRouteRow.id).where(NotificationRouteRow.name == name)
        if other_than is not None:
            q = q.where(NotificationRouteRow.id != other_than)
        return (await self.session.scalar(q.limit(1))) is not None

    async def add(self, values: dict[str, Any]) -> NotificationRouteRow:
        row = NotificationRouteRow(**values)
        self.session.add(row)
        await self.session.flush()
        return row

    async def update(self, row: NotificationRouteRow, values: dict[str, Any]) -> NotificationRouteRow:
        for key, value in values.items():
            setattr(row, key, value)
        await self.session.flush()
        return row

    async def delete(self, route_id: int) -> int:
        result = await self.session.execute(
            delete(NotificationRouteRow).where(NotificationRouteRow.id == route_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------------------ writing rows

    async def depth(self) -> dict[str, int]:
        """Outbox rows waiting (pending, sending) or given up (dead), per status."""
        q = (
            select(NotificationOutboxRow.status, func.count())
            .where(NotificationOutboxRow.status.in_(("pending", "sending", "dead")))
            .group_by(NotificationOutboxRow.status)
        )
        return {str(status): int(n) for status, n in (await self.session.execute(q)).all()}

    async def add_new(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, skipping those whose idempotency key is stored already (a notice enqueued twice)."""
        if rows:
            stmt = dialect_insert(self.session)(NotificationOutboxRow).on_conflict_do_nothing(
                index_elements=["idempotency_key"]
            )
            await self.session.execute(stmt, list(rows))

    async def add(self, values: dict[str, Any]) -> int:
        row = NotificationOutboxRow(**values)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def cancel_escalations(self, alarm_id: int, reason: str) -> int:
        """Cancel the alarm's escalations that have not gone out (pending, also a failed one waiting for its
        next attempt); one being sent right now goes on."""
        result = await self.session.execute(
            update(NotificationOutboxRow)
            .where(
                NotificationOutboxRow.alarm_id == alarm_id,
                NotificationOutboxRow.kind == "escalation",
                NotificationOutboxRow.status == "pending",
            )
            .values(status="cancelled", last_error=_error(reason))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def escalated_routes(self, alarm_id: int) -> frozenset[int]:
        """The routes the alarm has escalated to (their escalation went out, or is going out)."""
        rows = await self.session.scalars(
            select(NotificationOutboxRow.route_id).where(
                NotificationOutboxRow.alarm_id == alarm_id,
                NotificationOutboxRow.kind == "escalation",
                NotificationOutboxRow.status.in_(REACHED),
            )
        )
        return frozenset(r for r in rows if r is not None)

    async def cancel_route(self, route_id: int, reason: str) -> int:
        """Cancel a route's rows that have not gone out (it was deleted or disabled)."""
        result = await self.session.execute(
            update(NotificationOutboxRow)
            .where(NotificationOutboxRow.route_id == route_id, NotificationOutboxRow.status == "pending")
            .values(status="cancelled", last_error=_error(reason))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------------------------- dispatching

    async def claim(self, now: datetime, lease_until: datetime, limit: int) -> list[NotificationOutboxRow]:
        """Take up to `limit` due rows (pending and due, or sending with the lease run out), oldest due
        first: `sending` until `lease_until`, one more attempt. One statement (an UPDATE of the rows a
        locking subquery picks): PostgreSQL skips rows another transaction holds."""
        due = (
            select(NotificationOutboxRow.id)
            .where(NotificationOutboxRow.status.in_(DUE), NotificationOutboxRow.next_attempt_at <= now)
            .order_by(NotificationOutboxRow.next_attempt_at, NotificationOutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self.session.scalars(
            update(NotificationOutboxRow)
            .where(NotificationOutboxRow.id.in_(due))
            .values(
                status="sending", attempts=NotificationOutboxRow.attempts + 1, next_attempt_at=lease_until
            )
            .returning(NotificationOutboxRow),
            execution_options={"synchronize_session": False},
        )
        return sorted(rows.all(), key=lambda r: r.id)

    async def _settle(self, row_id: int, attempt: int, **values: Any) -> bool:
        """Write an attempt's outcome, if the row still carries that attempt (else another worker took over
        after the lease ran out: its outcome stands)."""
        result = await self.session.execute(
            update(NotificationOutboxRow)
            .where(
                NotificationOutboxRow.id == row_id,
                NotificationOutboxRow.attempts == attempt,
                NotificationOutboxRow.status == "sending",
            )
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_delivered(
        self, row_id: int, attempt: int, now: datetime, payload: dict[str, Any] | None = None
    ) -> bool:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
        if payload is not None:
            values["payload"] = payload
        return await self._settle(row_id, attempt, **values)

    async def mark_failed(self, row_id: int, attempt: int, error: str, retry_at: datetime | None) -> bool:
        """Back to pending until `retry_at`, or dead (`retry_at` None)."""
        if retry_at is None:
            return await self._settle(row_id, attempt, status="dead", last_error=_error(error))
        return await self._settle(
            row_id, attempt, status="pending", next_attempt_at=retry_at, last_error=_error(error)
        )

    async def mark_cancelled(self, row_id: int, attempt: int, reason: str) -> bool:
        return await self._settle(row_id, attempt, status="cancelled", last_error=_error(reason))

    # ------------------------------------------------------------------------------------------ digests

    async def sent_recently(self, route_id: int, since: datetime, before_id: int) -> int:
        """Messages the route's recipients got since `since` (delivered; digests count once, what they
        summarise not at all) or are getting now (sending rows claimed ahead of `before_id`)."""
        q = select(func.count()).where(
            NotificationOutboxRow.route_id == route_id,
            or_(
                and_(
                    NotificationOutboxRow.status == "delivered", NotificationOutboxRow.delivered_at >= since
                ),
                and_(NotificationOutboxRow.status == "sending", NotificationOutboxRow.id < before_id),
            ),
        )
        return int(await self.session.scalar(q) or 0)

    async def open_digest(self, route_id: int) -> int | None:
        """The route's digest that is still collecting (pending, never tried), if any. One guarded UPDATE:
        it holds the row's lock until the transaction ends, so no dispatcher claims the digest while a row
        joins it (their claim skips locked rows), and a digest claimed a moment before is not found."""
        newest = (
            select(func.max(NotificationOutboxRow.id))
            .where(
                NotificationOutboxRow.route_id == route_id,
                NotificationOutboxRow.kind == "digest",
                NotificationOutboxRow.status == "pending",
                NotificationOutboxRow.attempts == 0,
            )
            .scalar_subquery()
        )
        return await self.session.scalar(
            update(NotificationOutboxRow)
            .where(
                NotificationOutboxRow.id == newest,
                NotificationOutboxRow.status == "pending",
                NotificationOutboxRow.attempts == 0,
            )
            .values(attempts=0)
            .returning(NotificationOutboxRow.id)
        )

    async def fold(self, row_id: int, attempt: int, digest_id: int) -> bool:
        """A claimed row joins a digest instead of going out alone."""
        return await self._settle(
            row_id, attempt, status="digested", digest_id=digest_id, attempts=attempt - 1
        )

    async def members(self, digest_id: int) -> list[NotificationOutboxRow]:
        rows = await self.session.scalars(
            select(NotificationOutboxRow)
            .where(NotificationOutboxRow.digest_id == digest_id, NotificationOutboxRow.status == "digested")
            .order_by(NotificationOutboxRow.id)
        )
        return list(rows.all())

    # ------------------------------------------------------------------------------------------ reading

    async def get(self, row_id: int) -> NotificationOutboxRow | None:
        return await self.session.get(NotificationOutboxRow, row_id)

    async def page(
        self, flt: OutboxFilter, *, before_id: int | None, limit: int
    ) -> list[NotificationOutboxRow]:
        q = select(NotificationOutboxRow)
        if flt.status is not None:
            q = q.where(NotificationOutboxRow.status == flt.status)
        if flt.alarm_id is not None:
            q = q.where(NotificationOutboxRow.alarm_id == flt.alarm_id)
        if flt.route_id is not None:
            q = q.where(NotificationOutboxRow.route_id == flt.route_id)
        if flt.kind is not None:
            q = q.where(NotificationOutboxRow.kind == flt.kind)
        if before_id is not None:
            q = q.where(NotificationOutboxRow.id < before_id)
        return list(
            (await self.session.scalars(q.order_by(NotificationOutboxRow.id.desc()).limit(limit))).all()
        )

    async def retry(self, row_id: int, now: datetime, target: str | None) -> bool:
        """A dead row back to pending, due now, its attempts counted from zero again (and the route's
        current target, if the route still exists)."""
        values: dict[str, Any] = {"status": "pending", "attempts": 0, "next_attempt_at": now}
        if target is not None:
            values["target"] = target
        result = await self.session.execute(
            update(NotificationOutboxRow)
            .where(NotificationOutboxRow.id == row_id, NotificationOutboxRow.status == "dead")
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))
