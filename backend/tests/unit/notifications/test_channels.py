"""The channels against real servers on free ports: an HTTP receiver (the standard library's threading
server) for webhooks and sms, aiosmtpd for email (the embedded mode's sink, and one that refuses). A
failing receiver is retried with the same idempotency key until it answers (delivered once), one that does
not answer times out without holding anything else up, and a worker lost between send and mark is made
good by the next attempt, with the same key."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from dtwin.core.db import transaction
from dtwin.notifications.channels import Channel
from dtwin.notifications.dispatcher import Dispatcher
from dtwin.notifications.mail import EmailChannel, SmtpConfig, message_id
from dtwin.notifications.repository import OutboxRepository
from dtwin.notifications.service import NotificationOutbox
from dtwin.notifications.sink import MailSink
from dtwin.notifications.webhook import SmsChannel, WebhookChannel
from dtwin_devkit.testing import eventually

from ...factories.notifications import (
    FakeClock,
    Receiver,
    Sessions,
    add_route,
    dispatcher,
    enqueue,
    notice,
    receiver,
    rows,
)

SECRET = "a-webhook-secret-of-32-characters"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    yield from receiver([500, 500, 500])


@pytest.fixture
def silent() -> Iterator[Receiver]:
    yield from receiver(hang=True)


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[MailSink]:
    server = await MailSink(tmp_path / "mail").start()
    yield server
    server.close()


def channels(timeout_s: float = 5.0, sink: MailSink | None = None) -> dict[str, Channel]:
    found: dict[str, Channel] = {"webhook": WebhookChannel(timeout_s), "sms": SmsChannel(timeout_s)}
    if sink is not None:
        found["email"] = EmailChannel(
            SmtpConfig(
                host=sink.host, port=sink.port, sender="dtwin@plant.example", tls="none", timeout_s=timeout_s
            )
        )
    return found


@pytest.fixture
async def closing() -> AsyncIterator[list[Dispatcher]]:
    """Dispatchers to close after the test (their HTTP connection pools)."""
    made: list[Dispatcher] = []
    yield made
    for d in made:
        await d.aclose()


def mails(sink: MailSink) -> list[Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(sink.directory.glob("*.eml"))]


async def test_a_webhook_is_signed_with_the_routes_secret(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    hook: Receiver,
    closing: list[Dispatcher],
) -> None:
    await add_route(sessions, clock, targets=[hook.url], secret=SECRET)
    d = dispatcher(sessions, clock, channels())
    closing.append(d)
    await enqueue(sessions, outbox, notice())
    await d.run_once()
    (got,) = hook.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Dtwin-Signature"] == expected
    assert got.headers["Idempotency-Key"] == "a1:1:r1:t1"
    assert got.headers["Content-Type"] == "application/json"
    body = json.loads(got.body)
    assert (body["type"], body["idempotency_key"], body["notice"]["alarm_id"]) == (
        "alarm.notice",
        "a1:1:r1:t1",
        1,
    )
    assert body["summary"].startswith("[dtwin HIGH] Raised: discharge_pressure_bar")
    # a body changed on the way no longer matches the signature
    assert hmac.new(SECRET.encode(), got.body + b" ", hashlib.sha256).hexdigest() not in expected
    (row,) = await rows(sessions)
    assert row.status == "delivered"


async def test_a_webhook_failing_three_times_is_delivered_exactly_once(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    flaky: Receiver,
    closing: list[Dispatcher],
) -> None:
    await add_route(sessions, clock, targets=[flaky.url])
    d = dispatcher(sessions, clock, channels(), backoff_initial_s=1, backoff_max_s=60)
    closing.append(d)
    await enqueue(sessions, outbox, notice())
    for _ in range(4):
        assert await d.run_once() == 1
        clock.advance(120)
    assert await d.run_once() == 0
    assert [r.status for r in flaky.requests] == [500, 500, 500, 200]
    assert {r.headers["Idempotency-Key"] for r in flaky.requests} == {"a1:1:r1:t1"}
    assert len({r.body for r in flaky.requests}) == 1  # the same message every time
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 4, None)


async def test_a_receiver_that_does_not_answer_holds_up_nothing_else(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    silent: Receiver,
    hook: Receiver,
    closing: list[Dispatcher],
) -> None:
    slow = await add_route(sessions, clock, name="slow", targets=[silent.url])
    fast = await add_route(sessions, clock, name="fast", targets=[hook.url])
    d = dispatcher(sessions, clock, channels(timeout_s=60), send_timeout_s=60, poll_interval_s=0.05)
    closing.append(d)
    await enqueue(sessions, outbox, notice())  # the slow route's row comes first
    runner = asyncio.create_task(d.run())
    try:
        await eventually(lambda: _delivered(sessions, fast), what="the fast route's delivery")
        (stuck,) = await rows(sessions, route_id=slow)
        assert stuck.status == "sending"  # still waiting for its receiver
        assert silent.requests == []
        silent.release.set()  # the slow receiver answers at last
        await eventually(lambda: _delivered(sessions, slow), what="the slow route's delivery")
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    assert len(hook.requests) == 1


async def _delivered(sessions: Sessions, route_id: int) -> bool:
    return [r.status for r in await rows(sessions, route_id=route_id)] == ["delivered"]


async def test_a_timing_out_webhook_is_retried_then_dead(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    silent: Receiver,
    closing: list[Dispatcher],
) -> None:
    await add_route(sessions, clock, targets=[silent.url])
    d = dispatcher(sessions, clock, channels(timeout_s=30), send_timeout_s=0.3, max_attempts=2, lease_s=10)
    closing.append(d)
    await enqueue(sessions, outbox, notice())
    await d.run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "no answer within 0.3 s")
    clock.now = row.next_attempt_at
    await d.run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("dead", 2, "no answer within 0.3 s")


async def test_a_worker_lost_between_send_and_mark_is_made_good_with_the_same_key(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    hook: Receiver,
    closing: list[Dispatcher],
) -> None:
    await add_route(sessions, clock, targets=[hook.url])
    d = dispatcher(sessions, clock, channels(), lease_s=120)
    closing.append(d)
    await enqueue(sessions, outbox, notice())
    (claimed,) = await d.claim(10)
    await d.send(claimed)  # sent, then the worker dies: "delivered" is never written
    assert await d.run_once() == 0  # its lease holds
    clock.advance(121)
    assert await d.run_once() == 1
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == ["a1:1:r1:t1"] * 2
    (row,) = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 2)
    async with transaction(sessions) as session:  # the lost worker's late word changes nothing
        assert not await OutboxRepository(session).mark_failed(row.id, 1, "late", clock.now)
    (row,) = await rows(sessions)
    assert row.status == "delivered"


async def test_sms_fills_the_gateways_template(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    hook: Receiver,
    closing: list[Dispatcher],
) -> None:
    template = '{"to": "+4917012345", "text": "{priority}: {message} ({machine_id}, {site}/{line})"}'
    await add_route(sessions, clock, channel="sms", targets=[hook.url], body_template=template)
    d = dispatcher(sessions, clock, channels())
    closing.append(d)
    await enqueue(sessions, outbox, notice(message='pressure "hi" 8.61 bar'))
    await d.run_once()
    (got,) = hook.requests
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(got.body) == {
        "to": "+4917012345",
        "text": 'high: Raised: pressure "hi" 8.61 bar (pump-0001, s1/l1)',
    }
    assert got.headers["Idempotency-Key"] == "a1:1:r1:t1"


async def test_sms_as_a_form(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    hook: Receiver,
    closing: list[Dispatcher],
) -> None:
    await add_route(
        sessions,
        clock,
        channel="sms",
        targets=[hook.url],
        body_template="to=%2B4917012345&text={message}",
        content_type="application/x-www-form-urlencoded",
    )
    d = dispatcher(sessions, clock, channels())
    closing.append(d)
    await enqueue(sessions, outbox, notice(message="a & b = c"))
    await d.run_once()
    (got,) = hook.requests
    assert got.body == b"to=%2B4917012345&text=Raised%3A+a+%26+b+%3D+c"


async def test_email_reaches_a_real_smtp_server_with_a_message_id_from_the_key(
    sessions: Sessions,
    clock: FakeClock,
    outbox: NotificationOutbox,
    sink: MailSink,
    closing: list[Dispatcher],
) -> None:
    await add_route(sessions, clock, channel="email", targets=["ops@plant.example", "Lead@Plant.example"])
    d = dispatcher(sessions, clock, channels(sink=sink))
    closing.append(d)
    await enqueue(sessions, outbox, notice(priority="critical"))
    (claimed,) = await d.claim(10)
    await d.send(claimed)  # a worker lost after the send: the next attempt sends it again
    clock.advance(1000)
    await d.run_once()
    first, second = mails(sink)
    assert first["Message-ID"] == second["Message-ID"] == message_id("a1:1:r1:t1", "dtwin@plant.example")
    assert first["X-Dtwin-Idempotency-Key"] == "a1:1:r1:t1"
    assert first["To"] == "ops@plant.example, Lead@plant.example"
    assert first["From"] == "dtwin@plant.example"
    assert first["Subject"].startswith("[dtwin CRITICAL] Raised: discharge_pressure_bar")
    text = first.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Machine: pump-0001 (centrifugal_pump)" in text
    assert "Where: s1 / l1" in text


class _Refuse:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return "550 5.1.1 no such mailbox"


async def test_a_refused_recipient_is_dead_at_once(
    sessions: Sessions, clock: FakeClock, outbox: NotificationOutbox
) -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(_Refuse(), loop=loop), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await add_route(sessions, clock, channel="email", targets=["nobody@plant.example"])
        config = SmtpConfig(host="127.0.0.1", port=port, sender="dtwin@plant.example", tls="none")
        await enqueue(sessions, outbox, notice())
        await dispatcher(sessions, clock, {"email": EmailChannel(config)}).run_once()
    finally:
        server.close()
    (row,) = await rows(sessions)
    assert row.status == "dead"
    assert row.last_error is not None and "550" in row.last_error
