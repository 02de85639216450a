"""The notifications room's services: `NotificationOutbox`, what the alarms room hands its notices to in
the transition's own transaction (contracts/alarms.py `NoticeOutbox`), and `NotificationService`, what the
API does (routing rules, the outbox's rows, retries, test messages)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.contracts.alarms import AlarmNotice
from dtwin.core.db import after_commit
from dtwin.errors import Conflict, NotFound
from dtwin.notifications.models import NotificationOutboxRow, NotificationRouteRow
from dtwin.notifications.repository import OutboxFilter, OutboxRepository, RouteRepository
from dtwin.notifications.routing import (
    CANCELS_ESCALATION,
    Clock,
    Planned,
    Rule,
    needs_escalated,
    plan,
    utcnow,
)
from dtwin.notifications.schemas import (
    NotificationList,
    NotificationRead,
    QuietHoursSpec,
    RouteIn,
    RouteList,
    RouteRead,
)

log = structlog.get_logger(__name__)


def idempotency_key(notice_key: str, route_id: int, tier: int) -> str:
    """Unique per message: the notice's key (alarm and transition), the route and the tier."""
    return f"{notice_key}:r{route_id}:t{tier}"


def target_of(route: NotificationRouteRow) -> str:
    return ", ".join(route.targets)


def _plain(value: Any) -> Any:
    """JSON for what msgspec does not know in a notice's `details` (a numpy number: its value; else text)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def notice_document(notice: AlarmNotice) -> dict[str, Any]:
    """The notice as the JSON stored in the outbox row (never refused: `details` may hold anything)."""
    document: dict[str, Any] = msgspec.to_builtins(notice, enc_hook=_plain)
    return document


def _row(notice: AlarmNotice, planned: Planned, now: datetime) -> dict[str, Any]:
    rule = planned.rule
    return {
        "idempotency_key": idempotency_key(notice.key, rule.id, planned.tier),
        "kind": planned.kind,
        "alarm_id": notice.alarm_id,
        "route_id": rule.id,
        "channel": rule.channel,
        "target": ", ".join(rule.targets),
        "tier": planned.tier,
        "priority": notice.priority,
        "payload": {"notice": notice_document(notice)},
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": planned.due,
        "last_error": None,
        "digest_id": None,
        "created_at": now,
        "delivered_at": None,
    }


class NotificationOutbox:
    """The transactional outbox (implements contracts.alarms.NoticeOutbox). `enqueue` plans each notice
    against the enabled routing rules and writes its messages with the caller's session, never
    committing: they exist exactly when the alarm transition that made them does. An acknowledgement,
    closing, shelving, suppression or out-of-service notice cancels the alarm's pending escalations. After
    the caller commits, `on_enqueued` (the local dispatcher's wake-up) is called."""

    def __init__(self, clock: Clock = utcnow, on_enqueued: Callable[[], None] | None = None) -> None:
        self.clock = clock
        self.on_enqueued = on_enqueued

    async def enqueue(self, session: AsyncSession, notices: list[AlarmNotice]) -> None:
        if not notices:
            return
        routes = RouteRepository(session)
        outbox = OutboxRepository(session)
        rules = _rules(await routes.all(enabled_only=True))
        now = self.clock()
        written = 0
        for notice in notices:  # in order: a raised and its acknowledgement in one call cancel correctly
            if notice.transition in CANCELS_ESCALATION:
                await outbox.cancel_escalations(notice.alarm_id, f"alarm {notice.transition}")
            if not rules:
                continue
            escalated = (
                await outbox.escalated_routes(notice.alarm_id)
                if needs_escalated(notice, rules)
                else frozenset[int]()
            )
            rows = [_row(notice, p, now) for p in plan(notice, rules, now, escalated)]
            await outbox.add_new(rows)
            written += len(rows)
        if written and self.on_enqueued is not None:
            after_commit(session, self.on_enqueued)


def _rules(rows: Sequence[NotificationRouteRow]) -> list[Rule]:
    """The rules of the stored rows; one that cannot be read (a time zone this machine lacks) is left
    out and logged, never failing the alarm transition."""
    rules = []
    for row in rows:
        try:
            rules.append(Rule.from_row(row))
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            log.error("notification_route_unusable", route=row.id, name=row.name, error=str(exc))
    return rules


def route_read(row: NotificationRouteRow) -> RouteRead:
    quiet = (
        QuietHoursSpec(start=row.quiet_start, end=row.quiet_end, timezone=row.timezone)
        if row.quiet_start and row.quiet_end
        else None
    )
    return RouteRead.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "channel": row.channel,
            "targets": row.targets,
            "has_secret": bool(row.secret),
            "body_template": row.body_template,
            "content_type": row.content_type,
            "min_priority": row.min_priority,
            "sites": row.sites,
            "lines": row.lines,
            "machine_types": row.machine_types,
            "transitions": row.transitions,
            "quiet_hours": quiet,
            "tier": row.tier,
            "escalate_after_s": row.escalate_after_s,
            "enabled": row.enabled,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )


class NotificationService:
    """One request's view of the room (its session commits or rolls back with the request)."""

    def __init__(
        self, session: AsyncSession, clock: Clock = utcnow, on_change: Callable[[], None] | None = None
    ) -> None:
        self.session = session
        self.routes = RouteRepository(session)
        self.outbox = OutboxRepository(session)
        self.clock = clock
        self.on_change = on_change  # the dispatcher's wake-up, after commit of anything due now

    def _wake(self) -> None:
        if self.on_change is not None:
            after_commit(self.session, self.on_change)

    # ------------------------------------------------------------------------------------ routing rules

    async def list_routes(self) -> RouteList:
        return RouteList(items=[route_read(r) for r in await self.routes.all()])

    async def _route(self, route_id: int) -> NotificationRouteRow:
        row = await self.routes.get(route_id)
        if row is None:
            raise NotFound(f"no notification route {route_id}")
        return row

    async def get_route(self, route_id: int) -> RouteRead:
        return route_read(await self._route(route_id))

    async def create_route(self, body: RouteIn) -> RouteRead:
        if await self.routes.name_taken(body.name):
            raise Conflict(f"a notification route named {body.name!r} exists")
        now = self.clock()
        row = await self.routes.add(
            {**body.columns(), "secret": body.secret, "created_at": now, "updated_at": now}
        )
        return route_read(row)

    async def replace_route(self, route_id: int, body: RouteIn) -> RouteRead:
        """Replace every field; `secret` left out keeps the stored one (it cannot be read back), `null`
        removes it. Disabling a route cancels its messages that have not gone out."""
        row = await self._route(route_id)
        if await self.routes.name_taken(body.name, other_than=route_id):
            raise Conflict(f"a notification route named {body.name!r} exists")
        values = {**body.columns(), "updated_at": self.clock()}
        if "secret" in body.model_fields_set or body.channel == "email":
            values["secret"] = body.secret
        await self.routes.update(row, values)
        if not body.enabled:
            await self.outbox.cancel_route(route_id, "route disabled")
        return route_read(row)

    async def delete_route(self, route_id: int) -> None:
        """Delete a rule; its messages that have not gone out are cancelled (the sent ones stay listed)."""
        if not await self.routes.delete(route_id):
            raise NotFound(f"no notification route {route_id}")
        await self.outbox.cancel_route(route_id, "route deleted")

    async def send_test(self, route_id: int, actor: str | None) -> NotificationRead:
        """A test message through the route now (ignoring its filters and quiet hours)."""
        route = await self._route(route_id)
        now = self.clock()
        ts = now.isoformat().replace("+00:00", "Z")
        notice = AlarmNotice(
            key=f"test-{uuid4().hex}",
            alarm_id=0,
            transition="raised",
            state="unack_active",
            priority="low",
            source="threshold",
            condition="test",
            machine_id="test",
            machine_type=None,
            site=None,
            line=None,
            ts=ts,
            raised_at=ts,
            message=f"test notification for route {route.name}",
            actor=actor,
        )
        row_id = await self.outbox.add(
            {
                "idempotency_key": idempotency_key(notice.key, route.id, route.tier),
                "kind": "test",
                "alarm_id": None,
                "route_id": route.id,
                "channel": route.channel,
                "target": target_of(route),
                "tier": route.tier,
                "priority": notice.priority,
                "payload": {"notice": notice_document(notice)},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
        self._wake()
        return await self.get(row_id)

    # ------------------------------------------------------------------------------------------- outbox

    async def page(self, flt: OutboxFilter, *, before_id: int | None, limit: int) -> NotificationList:
        rows: Sequence[NotificationOutboxRow] = await self.outbox.page(flt, before_id=before_id, limit=limit)
        items = [NotificationRead.model_validate(r) for r in rows]
        return NotificationList(items=items, next_cursor=str(items[-1].id) if len(items) == limit else None)

    async def get(self, notification_id: int) -> NotificationRead:
        row = await self.outbox.get(notification_id)
        if row is None:
            raise NotFound(f"no notification {notification_id}")
        return NotificationRead.model_validate(row)

    async def retry(self, notification_id: int) -> NotificationRead:
        """A dead notification goes out again now, its attempts counted afresh, to the route's current
        target (fix the route, then retry). 409 unless it is dead."""
        row = await self.outbox.get(notification_id)
        if row is None:
            raise NotFound(f"no notification {notification_id}")
        route = await self.routes.get(row.route_id) if row.route_id is not None else None
        target = target_of(route) if route is not None and route.channel == row.channel else None
        if not await self.outbox.retry(notification_id, self.clock(), target):
            raise Conflict(f"notification {notification_id} is {row.status}: only a dead one can be retried")
        self._wake()
        await self.session.refresh(row)
        return NotificationRead.model_validate(row)
