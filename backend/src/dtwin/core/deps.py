"""Request dependencies every room shares: the adapters (built once in the lifespan, on app.state), the
settings and one database session per request. A domain's own dependencies live in its `deps.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.config import Settings
from dtwin.core.adapters import Adapters


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
