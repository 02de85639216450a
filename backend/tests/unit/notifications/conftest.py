"""The notifications room on SQLite (a file per test), a clock the test moves, a recording channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.notifications.service import NotificationOutbox

from ...factories.notifications import FakeClock, Recorder, Sessions, create_tables


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}")
    await create_tables(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def outbox(clock: FakeClock) -> NotificationOutbox:
    return NotificationOutbox(clock)
