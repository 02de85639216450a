"""Shared Annotated dependencies. Adapters are built once in the lifespan and live on app.state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.config import Settings
from dtwin.core.adapters import Adapters
from dtwin.twins.events import TwinEventLog
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore


def get_adapters(request: Request) -> Adapters:
    adapters: Adapters = request.app.state.adapters
    return adapters


AdaptersDep = Annotated[Adapters, Depends(get_adapters)]


def get_settings_dep(adapters: AdaptersDep) -> Settings:
    return adapters.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_session(adapters: AdaptersDep) -> AsyncIterator[AsyncSession]:
    """One session per request: commit on success, roll back on error."""
    async with adapters.sessions() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_twin_service(adapters: AdaptersDep) -> TwinService:
    s = adapters.settings
    return TwinService(
        TwinStore(adapters.redis, adapters.keys, s.ws_replay_entries),
        adapters.bus,
        s.topic_desired,
        s.twin_expected_interval_s,
        TwinEventLog(adapters.sessions),
        adapters.durable,
        adapters.view,
    )


TwinServiceDep = Annotated[TwinService, Depends(get_twin_service)]
