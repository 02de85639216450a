"""The outbox on real PostgreSQL (a database of its own, migrated from scratch: no other test's dispatcher
sees these rows): enqueue belongs to the caller's transaction, two dispatchers claim disjoint rows
(`FOR UPDATE SKIP LOCKED`) whether their claims overlap or race, and the app in real mode delivers a
webhook through its own dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.core.migrate import upgrade_sync
from dtwin.notifications.repository import OutboxRepository
from dtwin.notifications.service import NotificationOutbox
from dtwin_devkit.testing import eventually

from ...factories.notifications import (
    FakeClock,
    Receiver,
    Recorder,
    Sessions,
    add_route,
    dispatcher,
    enqueue,
    notice,
    receiver,
    rows,
)


@pytest.fixture(scope="module")
async def sessions(pg_url: str) -> AsyncIterator[Sessions]:
    """A fresh database on the session's PostgreSQL server, with every migration applied."""
    url = make_url(pg_url)
    name = f"notifications_{uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    own = url.set(database=name).render_as_string(hide_password=False)
    with ThreadPoolExecutor(1) as pool:  # Alembic runs its own event loop
        pool.submit(upgrade_sync, own).result()
    engine = create_engine(own)
    yield create_sessionmaker(engine)
    await engine.dispose()
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}"')


async def _admin(url: URL, statement: str) -> None:
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(autouse=True)
async def empty(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        await session.execute(text("DELETE FROM notification_outbox"))
        await session.execute(text("DELETE FROM notification_routes"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(clock: FakeClock) -> NotificationOutbox:
    return NotificationOutbox(clock)


async def test_enqueue_commits_and_rolls_back_with_the_callers_transaction(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    await add_route(sessions, clock, tier=1, escalate_after_s=60)
    await add_route(sessions, clock, tier=2)
    d = dispatcher(sessions, clock, {"webhook": Recorder()})
    async with sessions() as session:
        await outbox.enqueue(session, [notice()])
        assert await d.run_once() == 0  # not committed: no dispatcher sees it
        await session.rollback()
    assert await rows(sessions) == []
    async with sessions() as session:
        await outbox.enqueue(session, [notice()])
        await session.commit()
    assert [(r.kind, r.status) for r in await rows(sessions)] == [
        ("notice", "pending"),
        ("escalation", "pending"),
    ]
    await enqueue(sessions, outbox, notice(transition="acknowledged", seq=2))
    assert [r.status for r in await rows(sessions, kind="escalation")] == ["cancelled"]


async def test_overlapping_claims_take_disjoint_rows(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    await add_route(sessions, clock)
    await enqueue(sessions, outbox, *(notice(alarm_id=i) for i in range(1, 21)))
    lease = clock.now.replace(year=2100)
    async with sessions() as first, sessions() as second:
        mine = await OutboxRepository(first).claim(clock.now, lease, 5)  # locked, not committed yet
        # SKIP LOCKED: the second claim passes the first one's rows by instead of waiting for them
        theirs = await asyncio.wait_for(OutboxRepository(second).claim(clock.now, lease, 100), timeout=30)
        await first.commit()
        await second.commit()
    a, b = {r.id for r in mine}, {r.id for r in theirs}
    assert (len(a), len(b)) == (5, 15)
    assert a.isdisjoint(b)
    assert a | b == {r.id for r in await rows(sessions)}
    assert {r.status for r in await rows(sessions)} == {"sending"}


async def test_two_racing_dispatchers_deliver_each_row_once(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    await add_route(sessions, clock, name="a")
    await add_route(sessions, clock, name="b")
    await enqueue(sessions, outbox, *(notice(alarm_id=i) for i in range(1, 61)))
    recorders = [Recorder(), Recorder()]
    dispatchers = [
        dispatcher(sessions, clock, {"webhook": r}, concurrency=4, digest_threshold=1000) for r in recorders
    ]

    async def drain(d: Any) -> None:
        while await d.run_once():
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(d) for d in dispatchers))
    keys = [s.key for r in recorders for s in r.sent]
    assert len(keys) == len(set(keys)) == 120
    assert all(r.sent for r in recorders), "both dispatchers took a share"
    assert {r.status for r in await rows(sessions)} == {"delivered"}


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


async def test_the_app_in_real_mode_delivers_through_its_dispatcher(
    app: FastAPI, client: httpx.AsyncClient, hook: Receiver, uid: str
) -> None:
    r = await client.post(
        "/api/v1/notifications/routes",
        json={"name": f"it-{uid}", "channel": "webhook", "targets": [hook.url]},
    )
    assert r.status_code == 201, r.text
    route = r.json()
    try:
        sent = (await client.post(f"/api/v1/notifications/routes/{route['id']}/test")).json()

        async def delivered() -> bool:
            got = (await client.get(f"/api/v1/notifications/{sent['id']}")).json()
            return bool(got["status"] == "delivered")

        await eventually(delivered, what="the webhook's delivery")
        (got,) = hook.requests
        assert got.headers["Idempotency-Key"] == sent["idempotency_key"]
    finally:
        assert (await client.delete(f"/api/v1/notifications/routes/{route['id']}")).status_code == 204


async def test_racing_dispatchers_fold_a_flood_into_one_digest(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    route = await add_route(sessions, clock)
    await enqueue(sessions, outbox, *(notice(alarm_id=i) for i in range(1, 41)))
    recorders = [Recorder(), Recorder()]
    dispatchers = [
        dispatcher(sessions, clock, {"webhook": r}, concurrency=8, digest_threshold=5, digest_window_s=600)
        for r in recorders
    ]
    a, b = dispatchers
    for _ in range(3):  # claims one after the other, then every row of both at the same time
        claimed = [(a, r) for r in await a.claim(8)] + [(b, r) for r in await b.claim(8)]
        await asyncio.gather(*(d.deliver(r) for d, r in claimed))
    (digest,) = await rows(sessions, kind="digest")
    folded = await rows(sessions, status="digested")
    alone = await rows(sessions, kind="notice", status="delivered")
    assert len(alone) == 5
    assert {r.digest_id for r in folded} == {digest.id}
    assert len(folded) + len(alone) == 40
    clock.advance(600)
    await asyncio.gather(*(d.run_once() for d in dispatchers))
    (summary,) = [s for r in recorders for s in r.sent if s.kind == "digest"]
    assert (summary.route.id, len(summary.members)) == (route, 35)
