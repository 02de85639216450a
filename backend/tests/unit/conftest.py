"""Unit-level fixtures: the app over embedded adapters (in-process bus, fakeredis, SQLite), lifespan entered,
and an ASGI client for it."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from dtwin.config import Settings
from dtwin.main import create_app


@pytest.fixture
async def app(embedded_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(embedded_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c
