"""data-pipeline test session: marks by folder; Mosquitto and Tansu started once on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dtwin_devkit.servers import Server, ServerError, running

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).relative_to(HERE).parts[0]
        if rel in ("unit", "integration"):
            item.add_marker(getattr(pytest.mark, rel))


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, Server]]:
    try:
        with running("mosquitto", "kafka") as started:
            yield started
    except ServerError as exc:
        pytest.fail(f"could not start a test server: {exc}", pytrace=False)


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]
