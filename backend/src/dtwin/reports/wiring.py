"""The reports room, assembled for one backend process (main.py) or one CLI command: the runner over the
adapters and the process's twin service, and the scheduler task."""

from __future__ import annotations

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.anomalies.service import LiveAnalytics
from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.tasks import TaskSupervisor
from dtwin.forecast.service import Forecaster
from dtwin.notifications.wiring import smtp_config
from dtwin.readings.history import ArchiveIndex
from dtwin.reports.mail import ReportMailer
from dtwin.reports.scheduler import ReportScheduler
from dtwin.reports.service import ReportRunner
from dtwin.twins.service import TwinService


def report_runner(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    keys: RedisKeys,
    twins: TwinService,
    archive: ArchiveIndex | None = None,
    forecaster: Forecaster | None = None,
) -> ReportRunner:
    mailer = (
        ReportMailer(smtp_config(settings, settings.notify_smtp_host, settings.notify_smtp_port))
        if settings.notify_smtp_host is not None
        else None
    )
    return ReportRunner(
        sessions,
        twins,
        LiveAnalytics(redis, keys),
        settings,
        mailer,
        archive=archive,
        forecaster=forecaster,
    )


def start_report_scheduler(settings: Settings, runner: ReportRunner, supervisor: TaskSupervisor) -> None:
    if settings.reports_enabled:
        scheduler = ReportScheduler(
            runner,
            interval_s=settings.report_scheduler_interval_s,
            max_lateness_s=settings.report_max_lateness_s,
        )
        supervisor.start("report-scheduler", scheduler.run)
