"""Scenario files: the shipped ones load and build their fleet; a bad file fails with where and why."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dtwin_pipeline.simulator.fleet import Fleet
from dtwin_pipeline.simulator.scenario import ScenarioError, load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[3] / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))

GOOD = """
name: tiny
seed: 5
duration_s: 30
fleet: {centrifugal_pump: 2, boiler: 1}
faults:
  - {kind: stuck, type: boiler, sensor: o2_pct, start_s: 1, end_s: 9}
"""


def test_at_least_three_scenarios_are_shipped() -> None:
    assert {"default.yaml", "bearing-wear.yaml", "data-quality.yaml"} <= {p.name for p in SHIPPED}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenario_builds_its_fleet(path: Path) -> None:
    scenario = load_scenario(path)
    cfg = scenario.to_config()
    fleet = Fleet(cfg)
    counts = Counter(m.type for m in fleet.machines)
    assert counts == Counter({t: n for t, n in scenario.fleet.items() if n})
    assert len(fleet.faults.pending) == len(scenario.faults)
    if scenario.sites:
        assert {m.site for m in fleet.machines} == {s.name for s in scenario.sites}


def test_scenario_maps_to_the_simulator_config() -> None:
    cfg = parse_scenario(GOOD).to_config()
    assert (cfg.seed, cfg.duration_s, cfg.machines, dict(cfg.fleet or {})) == (
        5, 30.0, 3, {"centrifugal_pump": 2, "boiler": 1},
    )  # fmt: skip
    assert cfg.faults[0].sensor == "o2_pct"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nfleet: {pumpp: 2}\n", "fleet: Value error, unknown machine type(s) ['pumpp']"),
        ("name: x\n", "fleet: Field required"),
        ("name: x\nfleet: {boiler: 1}\nspeed: 3\n", "speed: Extra inputs are not permitted"),
        ("name: x\nfleet: {boiler: 1}\nrate_hz: 0\n", "rate_hz: Input should be greater than 0"),
        ("name: x\nfleet: [boiler\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        (
            "name: x\nfleet: {boiler: 1}\nfaults:\n  - {kind: melt, machine: boiler-0001, start_s: 0, end_s: 1}\n",
            "faults.0.kind: Input should be 'bearing_wear'",
        ),
        (
            "name: x\nfleet: {boiler: 1}\nfaults:\n  - {kind: leak, machine: boiler-0009, start_s: 0, end_s: 1}\n",
            "faults[0] (leak): unknown machine 'boiler-0009' (fleet has 1: boiler-0001",
        ),
        (
            "name: x\nfleet: {boiler: 1}\nfaults:\n  - {kind: seizure, type: boiler, start_s: 0, end_s: 1}\n",
            "seizure does not apply to boiler",
        ),
        (
            "name: x\nfleet: {boiler: 1}\nfaults:\n  - {kind: stuck, type: boiler, sensor: rpm, start_s: 0, end_s: 1}\n",
            "boiler has no sensor 'rpm'",
        ),
        (
            "name: x\nfleet: {boiler: 1}\nfaults:\n  - {kind: leak, type: boiler, nth: 2, start_s: 0, end_s: 1}\n",
            "the fleet has 1 boiler machines, nth=2",
        ),
    ],
)
def test_bad_scenario_gives_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "bad.yaml")
    assert str(err.value).startswith("bad.yaml")
    assert message in str(err.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "nope.yaml")
