"""The machine catalogue is a data file in the contracts (package data): it validates, and every type is a
valid registry document (names, units, ranges), so seeding the registry from it cannot fail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dtwin.contracts.catalogue import CatalogueSetting, catalogue_type, machine_catalogue
from dtwin.machine_types.catalogue import catalogue_table, catalogue_types


def test_the_catalogue_file_holds_sixteen_types_in_a_stable_order() -> None:
    names = list(machine_catalogue())
    assert len(names) == 16
    assert names[:5] == [
        "centrifugal_pump",
        "reciprocating_compressor",
        "induction_motor",
        "cnc_mill",
        "conveyor",
    ]


def test_every_type_is_a_valid_registry_document() -> None:
    docs = catalogue_types()  # MachineTypePut validates names, units, ranges and duplicates
    assert [d.name for d in docs] == list(machine_catalogue())
    assert catalogue_table()["centrifugal_pump"]["temperature_c"] == (35.0, 80.0)


def test_an_unknown_type_names_the_known_ones() -> None:
    assert catalogue_type("boiler").sensor("o2_pct").unit == "%"
    with pytest.raises(KeyError, match="'press-x' is not in the catalogue \\(centrifugal_pump, "):
        catalogue_type("press-x")


def test_settings_carry_their_ranges_and_the_commands_name_them() -> None:
    pump = catalogue_type("centrifugal_pump")
    speed = pump.setting("speed_setpoint_rpm")
    assert speed is not None
    assert (speed.unit, speed.lo, speed.hi, speed.initial) == ("rpm", 1500, 3000, (2500, 2950))
    assert pump.setting("mode") is None  # every type's, in MODES
    assert "flow_m3_h" in pump.moved_by("speed_setpoint_rpm")
    assert pump.moved_by("mode") == tuple(s.name for s in pump.sensors)
    assert catalogue_type("energy_meter").settings == ()


def test_a_setting_outside_its_own_range_or_named_mode_is_refused() -> None:
    base = {"name": "x_pct", "unit": "%", "lo": 0, "hi": 100, "initial": [10, 20]}
    CatalogueSetting.model_validate(base)
    with pytest.raises(ValidationError, match="initial"):
        CatalogueSetting.model_validate({**base, "initial": [10, 120]})
    with pytest.raises(ValidationError, match="lo"):
        CatalogueSetting.model_validate({**base, "lo": 100, "hi": 0})
    with pytest.raises(ValidationError, match="every type"):
        CatalogueSetting.model_validate({**base, "name": "mode"})
