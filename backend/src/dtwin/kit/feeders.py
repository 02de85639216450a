"""Feeders: what puts telemetry on a process's in-process bus (the demo's simulator). The backend finds them
through the `dtwin.feeders` entry-point group, so it never names the package that provides one; the data
pipeline declares its simulator there (data-pipeline/pyproject.toml)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Protocol

from dtwin.kit.bus import TelemetryBus
from dtwin.kit.settings import SharedSettings

FEEDERS_GROUP = "dtwin.feeders"
DEFAULT_FEEDER = "simulator"


class FeederError(Exception):
    """A feed cannot start as configured (no feeder installed, a bad scenario file); the message says why
    and where, fit to show a user as it is."""


class Feed(Protocol):
    """A feed planned from settings, checked and ready to run."""

    @property
    def summary(self) -> Mapping[str, object]:
        """What it will send, for the log line at start (machines, rate, scenario, ...)."""
        ...

    async def run(self, bus: TelemetryBus) -> None:
        """Publish into `bus` (an in-process one) until cancelled; obey what the bus delivers back."""
        ...


class Feeder(Protocol):
    def __call__(self, settings: SharedSettings) -> Feed:
        """Plan a feed from the settings (`simulator_*`, topics); raise FeederError if they are wrong."""
        ...


def load_feeder(name: str = DEFAULT_FEEDER) -> Feeder:
    """The feeder registered under `name` in the `dtwin.feeders` entry points; FeederError if none is."""
    found = {ep.name: ep for ep in entry_points(group=FEEDERS_GROUP)}
    if name not in found:
        have = f" (installed: {', '.join(sorted(found))})" if found else ""
        raise FeederError(
            f"no telemetry feeder {name!r} is installed{have}: the in-process simulator comes with the data "
            f"pipeline (`pip install -e data-pipeline`, or `make venv`), which registers it under the "
            f"{FEEDERS_GROUP!r} entry points"
        )
    feeder: Feeder = found[name].load()
    return feeder
