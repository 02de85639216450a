"""The outbox and the dispatcher on SQLite with a clock the test moves and a recording channel: enqueue in
the caller's transaction, escalation after the delay and its cancellation by an acknowledgement, quiet
hours, retries with backoff until dead, the digest, and disabled or deleted routes."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from dtwin.notifications.channels import PermanentError, TransientError
from dtwin.notifications.models import NotificationOutboxRow
from dtwin.notifications.service import NotificationOutbox, NotificationService

from ...factories.notifications import (
    FakeClock,
    Recorder,
    Sessions,
    add_route,
    dispatcher,
    enqueue,
    notice,
    rows,
)

MINUTE = 60.0


async def test_enqueue_writes_with_the_callers_session_and_never_commits(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    await add_route(sessions, clock)
    async with sessions() as session:
        await outbox.enqueue(session, [notice()])
        inside = await session.scalar(select(func.count()).select_from(NotificationOutboxRow))
        await session.rollback()  # the alarm transition failed: its notifications go with it
    assert inside == 1
    assert await rows(sessions) == []
    await enqueue(sessions, outbox, notice())
    await enqueue(sessions, outbox, notice())  # the same notice again: its key is taken
    (row,) = await rows(sessions)
    assert (row.status, row.kind, row.idempotency_key, row.alarm_id) == ("pending", "notice", "a1:1:r1:t1", 1)
    assert row.payload["notice"]["message"].startswith("discharge_pressure_bar")


async def test_escalation_fires_after_the_delay_while_unacknowledged(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    await add_route(sessions, clock, name="operators", tier=1, escalate_after_s=10 * 60)
    await add_route(sessions, clock, name="shift-lead", tier=2)
    d = dispatcher(sessions, clock, {"webhook": recorder})
    await enqueue(sessions, outbox, notice())
    assert await d.run_once() == 1
    assert [(s.route.name, s.kind) for s in recorder.sent] == [("operators", "notice")]
    clock.advance(10 * MINUTE - 1)
    assert await d.run_once() == 0
    clock.advance(1)
    assert await d.run_once() == 1
    assert [(s.route.name, s.kind, s.tier) for s in recorder.sent][1:] == [("shift-lead", "escalation", 2)]
    assert recorder.sent[1].key == "a1:1:r2:t2"


async def test_an_acknowledgement_cancels_the_escalation(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    both = ["raised", "acknowledged"]
    await add_route(sessions, clock, name="operators", tier=1, escalate_after_s=600, transitions=both)
    await add_route(sessions, clock, name="shift-lead", tier=2, transitions=both)
    d = dispatcher(sessions, clock, {"webhook": recorder})
    await enqueue(sessions, outbox, notice(alarm_id=7))
    await d.run_once()
    clock.advance(5 * MINUTE)
    await enqueue(
        sessions, outbox, notice(alarm_id=7, transition="acknowledged", seq=2, at=clock.now, actor="ann")
    )
    clock.advance(60 * MINUTE)
    await d.run_once()
    await d.run_once()
    assert [(s.route.name, s.payload["notice"]["transition"]) for s in recorder.sent] == [
        ("operators", "raised"),
        ("operators", "acknowledged"),
    ]
    (escalation,) = await rows(sessions, kind="escalation")
    assert (escalation.status, escalation.last_error) == ("cancelled", "alarm acknowledged")


async def test_an_escalated_tier_hears_the_acknowledgement_too(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    both = ["raised", "acknowledged"]
    await add_route(sessions, clock, name="operators", tier=1, escalate_after_s=60, transitions=both)
    await add_route(sessions, clock, name="shift-lead", tier=2, transitions=both)
    d = dispatcher(sessions, clock, {"webhook": recorder})
    await enqueue(sessions, outbox, notice())
    await d.run_once()
    clock.advance(MINUTE)
    await d.run_once()
    await enqueue(sessions, outbox, notice(transition="acknowledged", seq=2, at=clock.now))
    await d.run_once()
    assert sorted((s.route.name, s.payload["notice"]["transition"]) for s in recorder.sent[2:]) == [
        ("operators", "acknowledged"),
        ("shift-lead", "acknowledged"),
    ]


async def test_quiet_hours_hold_non_critical_notices_until_they_end(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    quiet = {"start": "11:30", "end": "14:00", "timezone": "UTC"}  # the clock starts at 12:00 UTC
    await add_route(sessions, clock, quiet_hours=quiet)
    d = dispatcher(sessions, clock, {"webhook": recorder})
    await enqueue(
        sessions, outbox, notice(alarm_id=1, priority="high"), notice(alarm_id=2, priority="critical")
    )
    await d.run_once()
    assert [s.payload["notice"]["priority"] for s in recorder.sent] == ["critical"]
    clock.advance(2 * 60 * MINUTE - 1)
    assert await d.run_once() == 0
    clock.advance(1)
    await d.run_once()
    assert [s.payload["notice"]["priority"] for s in recorder.sent] == ["critical", "high"]


async def test_transient_failures_back_off_exponentially_then_the_row_is_dead(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    await add_route(sessions, clock)
    d = dispatcher(
        sessions, clock, {"webhook": recorder}, max_attempts=3, backoff_initial_s=10, backoff_max_s=1000
    )
    recorder.failing = TransientError("HTTP 503 Service Unavailable")
    await enqueue(sessions, outbox, notice())
    waits = []
    for _ in range(2):
        await d.run_once()
        (row,) = await rows(sessions)
        assert (row.status, row.last_error) == ("pending", "HTTP 503 Service Unavailable")
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        assert await d.run_once() == 0  # not before its time
        clock.now = row.next_attempt_at
    # backoff 10 * 2^(n-1) plus up to 10 s of jitter
    assert 10 <= waits[0] <= 20
    assert 20 <= waits[1] <= 30
    await d.run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == ("dead", 3)
    clock.advance(10_000)
    assert await d.run_once() == 0


async def test_a_permanent_failure_is_dead_at_once(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    await add_route(sessions, clock)
    recorder.failing = PermanentError("HTTP 404 Not Found")
    await enqueue(sessions, outbox, notice())
    await dispatcher(sessions, clock, {"webhook": recorder}).run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "HTTP 404 Not Found")


async def test_the_retry_of_a_dead_row_counts_its_attempts_afresh(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    await add_route(sessions, clock)
    recorder.failing = PermanentError("HTTP 410 Gone")
    await enqueue(sessions, outbox, notice())
    d = dispatcher(sessions, clock, {"webhook": recorder})
    await d.run_once()
    (row,) = await rows(sessions)
    recorder.failing = None
    async with sessions() as session:
        again = await NotificationService(session, clock).retry(row.id)
        await session.commit()
    assert (again.status, again.attempts) == ("pending", 0)
    await d.run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert [s.key for s in recorder.sent] == ["a1:1:r1:t1"]


async def test_a_flood_becomes_one_digest_per_route(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    flooded = await add_route(sessions, clock, name="flooded")
    d = dispatcher(sessions, clock, {"webhook": recorder}, digest_threshold=3, digest_window_s=600)
    await enqueue(sessions, outbox, *(notice(alarm_id=i) for i in range(1, 7)))
    await d.run_once()
    assert [s.kind for s in recorder.sent] == ["notice"] * 3
    folded = await rows(sessions, status="digested")
    assert len(folded) == 3
    (digest,) = await rows(sessions, kind="digest")
    assert {r.digest_id for r in folded} == {digest.id}
    assert (digest.status, digest.route_id) == ("pending", flooded)
    clock.advance(5 * MINUTE)
    await enqueue(sessions, outbox, notice(alarm_id=7))  # still within the window: joins the same digest
    await d.run_once()
    assert len(recorder.sent) == 3
    clock.advance(5 * MINUTE)
    await d.run_once()
    summary = recorder.sent[-1]
    assert summary.kind == "digest"
    assert [m["notice"]["alarm_id"] for m in summary.members] == [4, 5, 6, 7]
    (digest,) = await rows(sessions, kind="digest")
    assert (digest.status, digest.payload["count"]) == ("delivered", 4)
    assert len(recorder.sent) == 4  # 7 notices, 4 messages


async def test_the_digest_counts_per_route(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    a = await add_route(sessions, clock, name="a")
    await add_route(sessions, clock, name="b", sites=["s2"])
    d = dispatcher(sessions, clock, {"webhook": recorder}, digest_threshold=2, digest_window_s=600)
    await enqueue(sessions, outbox, *(notice(alarm_id=i) for i in range(1, 4)))
    await enqueue(sessions, outbox, notice(alarm_id=9, site="s2"))
    await d.run_once()
    names = [s.route.name for s in recorder.sent]
    assert (names.count("a"), names.count("b")) == (2, 1)  # a: 4 notices over the threshold, b: 1
    assert {r.route_id for r in await rows(sessions, status="digested")} == {a}


async def test_a_disabled_route_cancels_a_deleted_route_kills(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, recorder: Recorder
) -> None:
    kept = await add_route(sessions, clock, name="kept")
    gone = await add_route(sessions, clock, name="gone")
    await enqueue(sessions, outbox, notice())
    async with sessions() as session:  # bypass the API's own cancellation: as if changed by another process
        service = NotificationService(session, clock)
        await service.routes.update(await service._route(kept), {"enabled": False})
        await service.routes.delete(gone)
        await session.commit()
    await dispatcher(sessions, clock, {"webhook": recorder}).run_once()
    by_route = {r.route_id: r for r in await rows(sessions)}
    assert (by_route[kept].status, by_route[kept].last_error) == ("cancelled", "route kept is disabled")
    assert (by_route[gone].status, by_route[gone].last_error) == ("dead", f"route {gone} no longer exists")
    assert recorder.sent == []


@pytest.mark.parametrize("transition", ["closed", "shelved", "suppressed", "out_of_service"])
async def test_every_end_of_attention_cancels_escalations(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox, transition: str
) -> None:
    await add_route(sessions, clock, tier=1, escalate_after_s=60)
    await add_route(sessions, clock, tier=2)
    await enqueue(sessions, outbox, notice(alarm_id=3))
    await enqueue(sessions, outbox, notice(alarm_id=3, transition=transition, seq=2))
    (escalation,) = await rows(sessions, kind="escalation")
    assert escalation.status == "cancelled"


async def test_details_msgspec_cannot_encode_never_fail_the_transition(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    await add_route(sessions, clock)
    await enqueue(sessions, outbox, notice(details={"top": [np.int64(3), np.float32(0.5)], "seen": {"x"}}))
    (row,) = await rows(sessions)
    assert row.payload["notice"]["details"]["top"] == [3, 0.5]
