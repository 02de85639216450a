"""Helpers of the notifications tests: alarm notices, a clock the test moves, a real HTTP receiver (the
standard library's threading server on a free port, answering from a script), a channel that records, and
the room's tables on a database."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dtwin.contracts.alarms import AlarmNotice
from dtwin.core.db import Base, transaction
from dtwin.notifications.channels import Channel, Delivery
from dtwin.notifications.dispatcher import DispatchConfig, Dispatcher
from dtwin.notifications.models import NotificationOutboxRow, NotificationRouteRow
from dtwin.notifications.schemas import RouteIn
from dtwin.notifications.service import NotificationOutbox, NotificationService

Sessions = async_sessionmaker[AsyncSession]

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def notice(
    alarm_id: int = 1,
    transition: str = "raised",
    seq: int = 1,
    at: datetime = T0,
    raised_at: datetime | None = None,
    **overrides: Any,
) -> AlarmNotice:
    """A notice of alarm `alarm_id` (its `seq`-th transition) on pump-0001 at site s1, line l1."""
    values: dict[str, Any] = {
        "key": f"a{alarm_id}:{seq}",
        "alarm_id": alarm_id,
        "transition": transition,
        "state": "unack_active" if transition == "raised" else "ack_active",
        "priority": "high",
        "source": "threshold",
        "condition": "hi:discharge_pressure_bar",
        "machine_id": "pump-0001",
        "machine_type": "centrifugal_pump",
        "site": "s1",
        "line": "l1",
        "ts": iso(at),
        "raised_at": iso(raised_at or at),
        "message": "discharge_pressure_bar 8.61 bar above hi 8.4 (pump-0001)",
        "value": 8.61,
    }
    values.update(overrides)
    return AlarmNotice(**values)


class FakeClock:
    """The time the room sees: starts at `start`, moves only when the test says."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


class Recorder:
    """A channel that keeps what it is given (and fails while `failing` says so)."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []
        self.failing: Exception | None = None

    async def send(self, delivery: Delivery) -> None:
        if self.failing is not None:
            raise self.failing
        self.sent.append(delivery)

    async def aclose(self) -> None:
        return None


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 (its own threads): records every POST and answers with the next
    status of `script` (then 200). With `hang`, a request waits until `release` is set (a receiver that
    does not answer)."""

    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    hang: bool = False

    def __post_init__(self) -> None:
        self.release.set()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hang:
                    receiver.release.wait(60)
                status = receiver.script.pop(0) if receiver.script else 200
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def answered(self, status: int) -> list[Received]:
        return [r for r in self.requests if r.status == status]


def receiver(script: list[int] | None = None, *, hang: bool = False) -> Iterator[Receiver]:
    """A Receiver for the length of a fixture (`yield from receiver(...)`)."""
    r = Receiver(script=list(script or []), hang=hang)
    if hang:
        r.release.clear()
    try:
        yield r
    finally:
        r.stop()


TABLES = [NotificationRouteRow.__table__, NotificationOutboxRow.__table__]


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=TABLES)


def dispatcher(
    sessions: Sessions, clock: FakeClock, channels: Mapping[str, Channel], **config: Any
) -> Dispatcher:
    return Dispatcher(sessions, channels, DispatchConfig(**config), clock)


async def add_route(sessions: Sessions, clock: FakeClock, **fields: Any) -> int:
    """A routing rule (defaults: webhook to a loopback URL, every priority, `raised`)."""
    values: dict[str, Any] = {"name": f"route-{uuid4().hex[:8]}", "channel": "webhook"}
    values.setdefault("targets", ["http://127.0.0.1:9/hook"])
    values.update(fields)
    async with transaction(sessions) as session:
        route = await NotificationService(session, clock).create_route(RouteIn.model_validate(values))
    return route.id


async def enqueue(sessions: Sessions, outbox: NotificationOutbox, *notices: AlarmNotice) -> None:
    async with transaction(sessions) as session:
        await outbox.enqueue(session, list(notices))


async def rows(sessions: Sessions, **where: Any) -> list[NotificationOutboxRow]:
    async with sessions() as session:
        q = select(NotificationOutboxRow).order_by(NotificationOutboxRow.id)
        for name, value in where.items():
            q = q.where(getattr(NotificationOutboxRow, name) == value)
        return list((await session.scalars(q)).all())
