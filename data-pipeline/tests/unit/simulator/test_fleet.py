"""The fleet: placement, composition, determinism by seed (independent of the clock), worker slices."""

from __future__ import annotations

from datetime import timedelta

import orjson

from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig, plan_fleet
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from tests.unit.simulator.support import T0, run


def test_every_message_is_valid_telemetry_with_the_types_sensors() -> None:
    for msg in run(SimulatorConfig(machines=30), 3)[-1]:
        t = parse_telemetry(orjson.dumps(msg))
        assert isinstance(t, Telemetry)
        assert set(t.readings) == {s.name for s in MACHINE_TYPES[t.machine_type].sensors}


def test_same_seed_gives_same_data_and_other_seed_differs() -> None:
    a = run(SimulatorConfig(machines=20, seed=1), 5)
    assert a == run(SimulatorConfig(machines=20, seed=1), 5)
    assert a != run(SimulatorConfig(machines=20, seed=2), 5)


def test_readings_do_not_depend_on_the_clock() -> None:
    a = run(SimulatorConfig(machines=20, seed=3), 5)
    b = run(SimulatorConfig(machines=20, seed=3), 5, t0=T0 + timedelta(days=123, hours=7))
    strip = [[{**m, "ts": None} for m in tick] for tick in a]
    assert strip == [[{**m, "ts": None} for m in tick] for tick in b]
    assert a[1][0]["ts"] == "2026-11-23T10:00:01.000Z"


def test_fleet_mixes_types_and_places_machines_on_sites_and_lines() -> None:
    msgs = run(SimulatorConfig(machines=60), 1)[0]
    assert len(msgs) == 60 and len({m["machine_id"] for m in msgs}) == 60
    assert {m["machine_type"] for m in msgs} == set(MACHINE_TYPES)
    assert len({(m["site"], m["line"]) for m in msgs}) == 6


def test_composition_and_explicit_sites() -> None:
    cfg = SimulatorConfig(
        fleet={"boiler": 2, "chiller": 3, "robot_arm": 0},
        site_lines=[("north", ["a", "b"]), ("south", ["c"])],
        id_offset=100,
    )
    plan = plan_fleet(cfg)
    assert [m.id for m in plan] == [
        "boiler-0101",
        "chiller-0102",
        "boiler-0103",
        "chiller-0104",
        "chiller-0105",
    ]
    assert [(m.site, m.line) for m in plan] == [
        ("north", "a"), ("south", "c"), ("north", "b"), ("north", "a"), ("south", "c"),
    ]  # fmt: skip


def test_workers_split_the_plan_without_overlap_and_deterministically() -> None:
    cfg = SimulatorConfig(machines=101, seed=9)
    parts = [Fleet(SimulatorConfig(machines=101, seed=9, worker=k, workers=3)) for k in range(3)]
    ids = [m.id for f in parts for m in f.machines]
    assert sorted(ids) == sorted(m.id for m in plan_fleet(cfg)) and len(set(ids)) == 101
    again = Fleet(SimulatorConfig(machines=101, seed=9, worker=1, workers=3))
    first = [o.payload for o in parts[1].tick(T0, 1.0)]
    assert first == [o.payload for o in again.tick(T0, 1.0)]


def test_message_counts_and_readings_are_reported() -> None:
    fleet = Fleet(SimulatorConfig(machines=len(MACHINE_TYPES)))
    out = fleet.tick(T0, 1.0)
    assert sum(o.readings for o in out) == sum(len(t.sensors) for t in MACHINE_TYPES.values())
