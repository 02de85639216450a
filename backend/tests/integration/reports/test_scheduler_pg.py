"""Against the session's real PostgreSQL: two schedulers (two backends, each its own engine) tick at the
same moment and a due report runs exactly once; a report emailed through a real SMTP server (aiosmtpd, in
process, free port) arrives with both attachments."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from dtwin.anomalies.service import LiveAnalytics
from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.notifications.mail import SmtpConfig
from dtwin.notifications.sink import MailSink
from dtwin.reports.mail import ReportMailer
from dtwin.reports.repository import ReportRepository
from dtwin.reports.scheduler import ReportScheduler
from dtwin.reports.schemas import ReportDefinitionIn, ReportSpec
from dtwin.reports.service import ReportRunner, ReportService
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore


@pytest.fixture
async def runners(
    real_settings: Settings, real_redis: aioredis.Redis, tmp_path: Path
) -> AsyncIterator[tuple[list[ReportRunner], MailSink]]:
    sink = await MailSink(tmp_path / "mail").start()
    keys = RedisKeys(real_settings.redis_prefix)
    made, engines = [], []
    for _ in range(2):
        engine = create_engine(real_settings.database_url, pool_size=2)
        engines.append(engine)
        twins = TwinService(TwinStore(real_redis, keys, real_settings.ws_replay_entries))
        mailer = ReportMailer(
            SmtpConfig(host=sink.host, port=sink.port, sender="dtwin@test.local", tls="none")
        )
        made.append(
            ReportRunner(
                create_sessionmaker(engine), twins, LiveAnalytics(real_redis, keys), real_settings, mailer
            )
        )
    yield made, sink
    sink.close()
    for engine in engines:
        await engine.dispose()


def received(sink_dir: Path) -> list[Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(sink_dir.glob("*.eml"))]


async def test_two_schedulers_run_a_due_report_once(
    runners: tuple[list[ReportRunner], MailSink], uid: str, tmp_path: Path
) -> None:
    (a, b), _ = runners
    async with transaction(a.sessions) as session:
        created = await ReportService(session, "UTC").create(
            ReportDefinitionIn(
                name=f"every-minute-{uid}",
                kind="data_quality",
                schedule="* * * * *",
                recipients=["ops@example.com"],
            ),
            "test",
        )
    # the start of a minute, so that `now + 20 s` below is still the same minute (same fire time)
    now = (created.created_at + timedelta(minutes=2)).replace(second=0, microsecond=0)
    scheduled = [ReportScheduler(r, interval_s=60, max_lateness_s=3600) for r in (a, b)]
    ran = await asyncio.gather(*(s.tick(now) for s in scheduled), *(s.tick(now) for s in scheduled))
    mine = [run for runs in ran for run in runs]
    fire = now.replace(second=0, microsecond=0)
    async with transaction(a.sessions) as session:
        rows = await ReportRepository(session).runs_for(created.id, fire)
    assert len(mine) == 1 and [r.id for r in rows] == mine
    assert rows[0].status == "succeeded" and rows[0].trigger == "schedule"
    assert (rows[0].period_start, rows[0].period_end) == (
        fire.replace(hour=0, minute=0) - timedelta(days=1),
        fire.replace(hour=0, minute=0),
    )
    assert len(received(tmp_path / "mail")) == 1  # and one email
    # the next tick, same minute: nothing more
    assert await scheduled[1].tick(now + timedelta(seconds=20)) == []


async def test_report_email_arrives_with_both_attachments(
    runners: tuple[list[ReportRunner], MailSink], uid: str, tmp_path: Path
) -> None:
    (runner, _), _sink = runners
    spec = ReportSpec(name=f"mailed-{uid}", kind="maintenance", recipients=["a@example.com", "b@example.com"])
    end = datetime.now(UTC)
    outcome = await runner.run(spec, end - timedelta(days=1), end, trigger="api")
    assert outcome is not None and outcome.status == "succeeded"
    (msg,) = received(tmp_path / "mail")
    assert msg["To"] == "a@example.com, b@example.com"
    assert f"mailed-{uid}" in msg["Subject"]
    parts = {str(p.get_filename()): p for p in msg.walk() if p.get_filename()}
    assert sorted(parts) == [
        f"report-{outcome.run_id}-maintenance.csv",
        f"report-{outcome.run_id}-maintenance.pdf",
    ]
    pdf = parts[f"report-{outcome.run_id}-maintenance.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_payload(decode=True)[:5] == b"%PDF-"  # type: ignore[index]
    csv_ = parts[f"report-{outcome.run_id}-maintenance.csv"].get_payload(decode=True)
    assert isinstance(csv_, bytes) and csv_.startswith(b"# Maintenance report")
    async with transaction(runner.sessions) as session:
        run = await ReportService(session, "UTC").run(outcome.run_id)
    assert run.emailed_to == ["a@example.com", "b@example.com"] and run.email_error is None


async def _dead_run(runner: ReportRunner, spec: ReportSpec, trigger: str, attempts: int = 1) -> int:
    """A run claimed by a backend that died: still running, its lease out a minute ago."""
    end = datetime.now(UTC).replace(microsecond=0)
    async with transaction(runner.sessions) as session:
        return await ReportRepository(session).add_run(
            {
                "kind": spec.kind,
                "spec": spec.model_dump(mode="json"),
                "period_start": end - timedelta(days=1),
                "period_end": end,
                "status": "running",
                "summary": {},
                "created_at": end - timedelta(minutes=10),
                "emailed_to": [],
                "trigger": trigger,
                "lease_until": end - timedelta(minutes=1),
                "attempts": attempts,
            }
        )


async def test_a_run_whose_backend_died_is_taken_over_once(
    runners: tuple[list[ReportRunner], MailSink], uid: str, tmp_path: Path
) -> None:
    (a, b), _ = runners
    spec = ReportSpec(name=f"orphan-{uid}", kind="data_quality", recipients=["ops@example.com"])
    scheduled = await _dead_run(a, spec, "schedule")
    on_demand = await _dead_run(a, spec, "api")
    out_of_attempts = await _dead_run(a, spec, "schedule", attempts=3)
    now = datetime.now(UTC)
    ran = await asyncio.gather(a.recover(now), b.recover(now))
    mine = sorted(run for runs in ran for run in runs)
    assert mine == sorted([scheduled, on_demand, out_of_attempts])  # each by exactly one of the two
    async with transaction(a.sessions) as session:
        svc = ReportService(session, "UTC")
        redone, failed, exhausted = [await svc.run(i) for i in (scheduled, on_demand, out_of_attempts)]
        row = await ReportRepository(session).run(scheduled)
    assert redone.status == "succeeded" and redone.emailed_to == ["ops@example.com"]
    assert row is not None and row.attempts == 2 and row.lease_until is None
    assert failed.status == "failed" and "run it again" in (failed.error or "")
    assert exhausted.status == "failed" and "3 attempt(s)" in (exhausted.error or "")
    assert len(received(tmp_path / "mail")) == 1  # the retaken run's email, once
    assert await a.recover(datetime.now(UTC)) == []  # nothing left


async def test_a_running_report_renews_its_lease(
    runners: tuple[list[ReportRunner], MailSink], uid: str
) -> None:
    (a, _), _ = runners
    a.settings = a.settings.model_copy(update={"report_lease_s": 6.0})
    spec = ReportSpec(name=f"slow-{uid}", kind="data_quality")
    run_id = await _dead_run(a, spec, "api")
    async with transaction(a.sessions) as session:  # as if this runner had just claimed it
        await ReportRepository(session).renew(run_id, datetime.now(UTC) + timedelta(seconds=6))
    renewer = asyncio.create_task(a._renew(run_id))
    await asyncio.sleep(4.5)  # past one renewal (every 2 s), before the first lease would have run out
    async with transaction(a.sessions) as session:
        row = await ReportRepository(session).run(run_id)
    renewer.cancel()
    assert row is not None and row.lease_until is not None
    assert row.lease_until > datetime.now(UTC) + timedelta(seconds=2)  # renewed: a fresh 6 s lease
    assert await a.recover(datetime.now(UTC)) == []  # not expired: nobody takes it
