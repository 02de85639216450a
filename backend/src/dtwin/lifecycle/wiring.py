"""The lifecycle service built from the settings (the app's lifespan and the CLI use this)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.config import Settings
from dtwin.lifecycle.service import LifecycleConfig, LifecycleService
from dtwin.readings.archive import ArchiveStore


def archive_store(settings: Settings) -> ArchiveStore:
    url = settings.archive_url or str(settings.data_dir / "archive")
    return ArchiveStore(url, settings.archive_options)


def lifecycle_config(settings: Settings) -> LifecycleConfig:
    return LifecycleConfig(
        tz=settings.plant_tz,
        rollup_interval_s=settings.rollup_interval_s,
        rollup_grace_s=settings.rollup_grace_s,
        maintenance_s=settings.lifecycle_maintenance_s,
        ahead_days=settings.partitions_ahead_days,
        raw_retention_days=settings.raw_retention_days,
        max_age_s=settings.max_age_s,
        rollup_retention_days={
            "10s": settings.rollup_retention_10s_days,
            "1m": settings.rollup_retention_1m_days,
            "1h": settings.rollup_retention_1h_days,
            "1d": settings.rollup_retention_1d_days,
        },
        archive_enabled=settings.archive_enabled,
        archive_days_per_run=settings.archive_days_per_run,
        restore_keep_days=settings.restore_keep_days,
    )


def lifecycle_service(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> LifecycleService:
    return LifecycleService(sessions, archive_store(settings), lifecycle_config(settings))
