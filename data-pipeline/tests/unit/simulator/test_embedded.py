"""The in-process simulator as a feeder (`dtwin.feeders` entry point): how the shared settings become its
configuration, and what a bad scenario or a missing feeder says."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtwin.kit.bus import MemoryBus
from dtwin.kit.feeders import FeederError, load_feeder
from dtwin.kit.settings import SharedSettings
from dtwin_pipeline.simulator.embedded import EmbeddedSimulator, embedded_config, plan
from dtwin_pipeline.simulator.scenario import ScenarioError

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


def test_scenario_setting_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    monkeypatch.setenv("DTWIN_SIMULATOR_SCENARIO", str(path))
    monkeypatch.setenv("DTWIN_SIMULATOR_MACHINES", "50")
    cfg = embedded_config(SharedSettings())
    assert dict(cfg.fleet or {}) == {"centrifugal_pump": 1, "induction_motor": 2}
    assert cfg.machines == 3  # the scenario's fleet, not DTWIN_SIMULATOR_MACHINES
    assert (cfg.rate_hz, cfg.seed) == (5.0, 9)
    assert [(f.kind, f.machine, f.start_s) for f in cfg.faults] == [("seizure", "motor-0002", 60.0)]
    assert cfg.site_lines == [("plant-a", ["packing"])]


def test_rate_and_seed_settings_override_the_scenario(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    cfg = embedded_config(SharedSettings(simulator_scenario=path, simulator_rate_hz=2, simulator_seed=1))
    assert (cfg.rate_hz, cfg.seed, cfg.machines) == (2.0, 1, 3)


def test_without_a_scenario_machines_rate_and_seed_apply() -> None:
    cfg = embedded_config(SharedSettings(simulator_machines=7))
    assert (cfg.machines, cfg.rate_hz, cfg.seed, cfg.fleet, cfg.faults) == (7, 1.0, 42, None, ())


def test_bad_scenario_raises_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(ScenarioError, match=r"bad\.yaml: invalid scenario:\n  fleet: .*'pumpp'"):
        embedded_config(SharedSettings(simulator_scenario=path))


def test_the_installed_entry_point_is_this_feeder() -> None:
    assert load_feeder() is plan


def test_a_bad_scenario_is_a_feeder_error_with_its_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(FeederError, match=r"bad\.yaml: invalid scenario:\n  fleet: .*'pumpp'"):
        plan(SharedSettings(simulator_scenario=path))


def test_an_unknown_feeder_names_the_installed_ones() -> None:
    with pytest.raises(
        FeederError, match=r"no telemetry feeder 'nope' is installed \(installed: simulator\)"
    ):
        load_feeder("nope")


def test_the_feed_says_what_it_will_send(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(SCENARIO)
    feed = plan(SharedSettings(simulator_scenario=path))
    assert isinstance(feed, EmbeddedSimulator)
    assert feed.summary == {"scenario": str(path), "machines": 3, "rate_hz": 5.0, "faults": 1}


async def test_the_feed_needs_an_in_process_bus() -> None:
    class NotInProcess(MemoryBus):
        @property
        def in_process(self) -> bool:
            return False

    feed = plan(SharedSettings(simulator_machines=1))
    with pytest.raises(TypeError, match="needs the in-process bus"):
        await feed.run(NotInProcess())
