"""The machine catalogue is a data file in the contracts (package data): it validates, and every type is a
valid registry document (names, units, ranges), so seeding the registry from it cannot fail."""

from __future__ import annotations

import pytest

from dtwin.contracts.catalogue import catalogue_type, machine_catalogue
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
