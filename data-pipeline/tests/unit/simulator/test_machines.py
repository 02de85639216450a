"""Machine types: every type produces valid telemetry with its own sensors, inside its normal ranges while
healthy; names carry their unit; settings start inside their allowed ranges."""

from __future__ import annotations

import re

import numpy as np
import orjson
import pytest

from dtwin.contracts.catalogue import catalogue_type, machine_catalogue
from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_pipeline.simulator.machines import MACHINE_TYPES, MachineType
from dtwin_pipeline.simulator.physics import TypeFleet
from tests.unit.simulator.support import one_type, run

UNIT_SUFFIX = {
    "°C": "_c", "bar": "_bar", "mm/s": "_mm_s", "A": "_a", "rpm": "_rpm", "kW": "_kw", "%": "_pct",
    "m3/h": "_m3_h", "N·m": "_nm", "V": "_v", "m/s": "_m_s", "mm/min": "_mm_min", "ppm": "_ppm",
    "kN": "_kn", "1/min": "_per_min", "Pa": "_pa", "kg/h": "_kg_h", "s": "_s", "mm": "_mm", "N": "_n",
    "mbar": "_mbar", "kWh": "_kwh", "": "_factor",
}  # fmt: skip
ORIGINAL_SENSORS = {
    "centrifugal_pump": {"temperature_c", "vibration_mm_s", "pressure_bar", "flow_m3_h", "current_a", "speed_rpm",
                         "power_kw"},
    "reciprocating_compressor": {"temperature_c", "vibration_mm_s", "pressure_bar", "current_a", "speed_rpm",
                                 "oil_temperature_c"},
    "induction_motor": {"temperature_c", "vibration_mm_s", "current_a", "speed_rpm", "torque_nm", "voltage_v"},
    "cnc_mill": {"temperature_c", "vibration_mm_s", "spindle_speed_rpm", "spindle_load_pct", "power_kw",
                 "coolant_temperature_c"},
    "conveyor": {"temperature_c", "vibration_mm_s", "belt_speed_m_s", "current_a", "load_pct"},
}  # fmt: skip


def test_there_are_sixteen_types_with_distinct_prefixes() -> None:
    assert len(MACHINE_TYPES) == 16
    assert len({t.prefix for t in MACHINE_TYPES.values()}) == 16


def test_every_catalogue_type_is_simulated_with_the_catalogue_sensors() -> None:
    catalogue = machine_catalogue()
    assert list(MACHINE_TYPES) == list(catalogue)
    for name, t in MACHINE_TYPES.items():
        spec = catalogue[name]
        assert t.description == spec.description
        assert [(s.name, s.unit, s.lo, s.hi) for s in t.sensors] == [
            (s.name, s.unit, s.lo, s.hi) for s in spec.sensors
        ]


def test_a_type_must_give_noise_for_exactly_the_catalogue_sensors() -> None:
    pump = MACHINE_TYPES["centrifugal_pump"]
    noise = {s.name: s.noise for s in pump.sensors[:-1]} | {"made_up_bar": 0.1}
    with pytest.raises(
        ValueError, match=r"for \['made_up_bar'\] not in the catalogue, missing for \['suction"
    ):
        MachineType.from_catalogue(
            "centrifugal_pump", prefix="x", noise=noise, physics=pump.physics, heat=pump.heat
        )


def test_every_type_takes_its_settings_from_the_catalogue() -> None:
    """The settings the simulated devices accept (and check their commands against) are the catalogue's:
    the backend's dry run validates desired changes against the same list."""
    catalogue = machine_catalogue()
    for name, t in MACHINE_TYPES.items():
        spec = catalogue[name]
        assert [(s.name, s.unit, s.lo, s.hi, tuple(s.initial), s.decimals, s.help) for s in t.settings] == [
            (s.name, s.unit, s.lo, s.hi, tuple(s.initial), s.decimals, s.description) for s in spec.settings
        ]
    assert MACHINE_TYPES["centrifugal_pump"].setting("speed_setpoint_rpm") is not None
    assert sum(len(t.settings) for t in MACHINE_TYPES.values()) == 20


def test_a_device_rejects_what_the_catalogue_ranges_exclude() -> None:
    from dtwin_pipeline.simulator.commands import check_setting

    for name, t in MACHINE_TYPES.items():
        for st in catalogue_type(name).settings:
            assert check_setting(t, st.name, st.lo) == (st.lo, None)
            assert check_setting(t, st.name, st.hi) == (st.hi, None)
            above = check_setting(t, st.name, st.hi + 1)
            assert above[0] is None and "out of range" in str(above[1])


def test_original_types_keep_their_names_and_sensors() -> None:
    for name, sensors in ORIGINAL_SENSORS.items():
        assert sensors <= set(MACHINE_TYPES[name].sensor_names)


@pytest.mark.parametrize("tname", list(MACHINE_TYPES))
def test_sensor_names_carry_their_unit(tname: str) -> None:
    for s in MACHINE_TYPES[tname].sensors:
        assert s.name.endswith(UNIT_SUFFIX[s.unit]), (s.name, s.unit)
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,63}", s.name)
        assert s.lo < s.hi and (s.noise > 0 or s.name == MACHINE_TYPES[tname].counter)


@pytest.mark.parametrize("tname", list(MACHINE_TYPES))
def test_healthy_type_sends_valid_telemetry_within_normal_ranges(tname: str) -> None:
    mtype = MACHINE_TYPES[tname]
    msgs = run(one_type(tname, n=25), 300)
    for tick in [*msgs[::50], msgs[-1]]:
        for m in tick:
            t = parse_telemetry(orjson.dumps(m))
            assert isinstance(t, Telemetry), t
            assert t.machine_type == tname and list(t.readings) == mtype.sensor_names
            assert t.reported is not None and t.reported["mode"] == "on"
    values = np.array([[m["readings"][s] for s in mtype.sensor_names] for tick in msgs for m in tick])
    for k, s in enumerate(mtype.sensors):
        margin = 5 * s.noise
        assert values[:, k].min() >= s.lo - margin, (s.name, values[:, k].min())
        assert values[:, k].max() <= s.hi + margin, (s.name, values[:, k].max())


@pytest.mark.parametrize("tname", list(MACHINE_TYPES))
def test_healthy_type_stays_in_range_over_a_simulated_day(tname: str) -> None:
    mtype = MACHINE_TYPES[tname]
    fleet = TypeFleet(mtype, 100, np.random.default_rng(3))
    lo = np.full(len(mtype.sensors), np.inf)
    hi = -lo
    for k in range(1, 24 * 12):
        v = fleet.step(k * 300.0, 300.0)
        lo, hi = np.minimum(lo, v.min(axis=1)), np.maximum(hi, v.max(axis=1))
    for k, s in enumerate(mtype.sensors):
        assert s.lo - 5 * s.noise <= lo[k] and hi[k] <= s.hi + 5 * s.noise, (s.name, lo[k], hi[k])


@pytest.mark.parametrize("tname", list(MACHINE_TYPES))
def test_settings_start_inside_their_allowed_range(tname: str) -> None:
    mtype = MACHINE_TYPES[tname]
    assert (0 if mtype.counter else 1) <= len(mtype.settings) <= 2  # a meter takes no settings
    fleet = TypeFleet(mtype, 50, np.random.default_rng(1))
    for st in mtype.settings:
        assert st.lo <= st.initial[0] <= st.initial[1] <= st.hi
        assert np.all((fleet.sp[st.name] >= st.lo) & (fleet.sp[st.name] <= st.hi))
