from datetime import UTC, datetime, timedelta

import numpy as np
import orjson

from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_pipeline.simulator.machines import MACHINE_TYPES
from dtwin_pipeline.simulator.runner import Fleet, SimulatorConfig

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def run(cfg: SimulatorConfig, ticks: int) -> list[list[dict]]:
    fleet = Fleet(cfg)
    return [
        [orjson.loads(o.payload) for o in fleet.tick(T0 + timedelta(seconds=i), 1.0)] for i in range(ticks)
    ]


def test_every_message_is_valid_telemetry_with_the_types_sensors() -> None:
    for msg in run(SimulatorConfig(machines=10), 3)[-1]:
        t = parse_telemetry(orjson.dumps(msg))
        assert isinstance(t, Telemetry)
        assert set(t.readings) == {s.name for s in MACHINE_TYPES[t.machine_type].sensors}


def test_same_seed_gives_same_data_and_other_seed_differs() -> None:
    a = run(SimulatorConfig(machines=5, seed=1), 5)
    assert a == run(SimulatorConfig(machines=5, seed=1), 5)
    assert a != run(SimulatorConfig(machines=5, seed=2), 5)


def test_fleet_mixes_types_and_places_machines_on_sites_and_lines() -> None:
    msgs = run(SimulatorConfig(machines=50), 1)[0]
    assert len(msgs) == 50 and len({m["machine_id"] for m in msgs}) == 50
    assert {m["machine_type"] for m in msgs} == set(MACHINE_TYPES)
    assert len({(m["site"], m["line"]) for m in msgs}) == 6


def test_healthy_machines_stay_within_normal_ranges() -> None:
    for tick in run(SimulatorConfig(machines=50), 120)[10:]:
        for m in tick:
            for sensor in MACHINE_TYPES[m["machine_type"]].sensors:
                v = m["readings"][sensor.name]
                margin = 0.1 * (sensor.hi - sensor.lo) + 4 * sensor.noise
                assert sensor.lo - margin <= v <= sensor.hi + margin, (m["machine_id"], sensor.name, v)


def test_current_follows_load_across_a_pump_fleet() -> None:
    """Coupled physics: across pumps, motor current rises with delivered power and flow."""
    msgs = [m for m in run(SimulatorConfig(machines=200, types=["centrifugal_pump"]), 2)[-1]]
    current = np.array([m["readings"]["current_a"] for m in msgs])
    power = np.array([m["readings"]["power_kw"] for m in msgs])
    flow = np.array([m["readings"]["flow_m3_h"] for m in msgs])
    assert np.corrcoef(current, power)[0, 1] > 0.9
    assert np.corrcoef(current, flow)[0, 1] > 0.8
