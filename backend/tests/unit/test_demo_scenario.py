"""`dtwin demo --scenario FILE` / DTWIN_SIMULATOR_SCENARIO: the in-process simulator (the feeder the data
pipeline registers under the `dtwin.feeders` entry points) runs the scenario (fleet, sites, faults); a bad file
stops the command with the scenario's own message, and so does a missing feeder. How settings become the
simulator's configuration is tested in data-pipeline/tests/unit/simulator/test_embedded.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dtwin.cli import app as cli
from dtwin.config import Settings, get_settings
from dtwin.kit import feeders
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ..factories.auth import as_admin

SCENARIO = """
name: tiny
seed: 9
rate_hz: 5
fleet: {centrifugal_pump: 1, induction_motor: 2}
sites:
  - {name: plant-a, lines: [packing]}
faults:
  - {kind: seizure, machine: motor-0002, start_s: 60, end_s: 120}
"""
BAD = "name: broken\nfleet: {pumpp: 2}\n"
DEMO_ENV = (
    "DTWIN_KAFKA_BOOTSTRAP",
    "DTWIN_REDIS_URL",
    "DTWIN_SIMULATOR_MACHINES",
    "DTWIN_SIMULATOR_RATE_HZ",
    "DTWIN_SIMULATOR_SCENARIO",
)


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`dtwin demo` writes its choices into the environment and the cached settings: put both back."""
    for var in DEMO_ENV:
        monkeypatch.setenv(var, os.environ.get(var, ""))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_embedded_simulator_runs_the_scenario_fleet(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        models_dir=tmp_path / "models",
        simulator_scenario=path,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        await as_admin(app, "http://t") as client,
    ):

        async def fleet() -> list[tuple[str, str, str, str]]:
            items = (await client.get("/api/v1/twins")).json()["items"]
            got = [(t["id"], t["machine_type"], t["site"], t["line"]) for t in items]
            return got if len(got) == 3 else []

        twins = await eventually(fleet, what="the scenario's three machines registered")
    assert twins == [
        ("motor-0002", "induction_motor", "plant-a", "packing"),
        ("motor-0003", "induction_motor", "plant-a", "packing"),
        ("pump-0001", "centrifugal_pump", "plant-a", "packing"),
    ]


def test_demo_with_a_bad_scenario_exits_with_its_message(tmp_path: Path, demo_env: None) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(cli, ["demo", "--scenario", str(path), "--port", "1"])
    assert result.exit_code == 2, result.output
    assert f"error: {path}: invalid scenario:\n  fleet: Value error, unknown machine type(s) ['pumpp']" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_demo_with_a_missing_scenario_exits_with_its_message(tmp_path: Path, demo_env: None) -> None:
    path = tmp_path / "nope.yaml"
    result = CliRunner().invoke(cli, ["demo", "--scenario", str(path)])
    assert result.exit_code == 2, result.output
    assert f"error: {path}: cannot read scenario: No such file or directory" in result.output


def test_demo_refuses_machines_with_a_scenario(tmp_path: Path, demo_env: None) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    result = CliRunner().invoke(cli, ["demo", "--scenario", str(path), "--machines", "3"])
    assert result.exit_code == 2
    assert "--machines cannot be combined with --scenario" in result.output


def test_demo_without_a_feeder_exits_saying_what_to_install(
    demo_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeders, "entry_points", lambda group: [])
    result = CliRunner().invoke(cli, ["demo", "--machines", "3", "--port", "1"])
    assert result.exit_code == 2, result.output
    assert "error: no telemetry feeder 'simulator' is installed" in result.output
    assert "pip install -e data-pipeline" in result.output


async def test_an_app_asked_to_simulate_without_a_feeder_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeders, "entry_points", lambda group: [])
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
        frontend_dist=None,
        models_dir=tmp_path / "models",
        simulator_machines=2,
    )
    app = create_app(settings)
    with pytest.raises(feeders.FeederError, match="no telemetry feeder 'simulator' is installed"):
        async with app.router.lifespan_context(app):
            pass
