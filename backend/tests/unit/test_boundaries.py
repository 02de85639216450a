"""The import-boundary lint (.importlinter) names the rooms the pipeline and the kit may not import one by
one: a room added later must be added there too, or the boundary would silently let it through."""

from __future__ import annotations

import configparser
import pkgutil
from pathlib import Path

import dtwin

CONFIG = Path(__file__).resolve().parents[3] / ".importlinter"
ALLOWED = {"contracts", "kit"}  # what the pipeline and the kit may import


def _forbidden(contract: str) -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    lines = parser[f"importlinter:contract:{contract}"]["forbidden_modules"].split()
    return {m.removeprefix("dtwin.") for m in lines if m.startswith("dtwin.")}


def _rooms() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(dtwin.__path__)}


def test_the_pipeline_is_forbidden_every_room_but_contracts_and_kit() -> None:
    assert _forbidden("pipeline-uses-contracts-and-kit") == _rooms() - ALLOWED


def test_the_kit_is_forbidden_every_room_but_contracts() -> None:
    assert _forbidden("kit-imports-contracts-only") == _rooms() - ALLOWED


DOMAINS = (
    "twins",
    "readings",
    "anomalies",
    "machine_types",
    "ingest",
    "realtime",
    "auth",
    "audit",
    "notifications",
    "alarms",
    "data_quality",
    "lifecycle",
    "energy",
    "reports",
    "forecast",
    "whatif",
)
PRIVATE = ("routes", "models", "repository")  # what a room keeps to itself


def test_each_room_is_forbidden_every_other_rooms_routes_tables_and_repository() -> None:
    source = Path(dtwin.__path__[0])
    for room in DOMAINS:
        expected = {
            f"{other}.{part}"
            for other in DOMAINS
            if other != room
            for part in PRIVATE
            if (source / other / f"{part}.py").exists()
        }
        assert _forbidden(f"{room}-uses-rooms-by-service") == expected, room
