"""OperatingRanges: the scoring engine's in-memory ranges fall back to the catalogue only while the registry
cannot be read, keep the last table through later outages, and version only real changes."""

from __future__ import annotations

from pathlib import Path

from dtwin.core.db import create_engine, create_sessionmaker, transaction
from dtwin.core.migrate import upgrade
from dtwin.machine_types.catalogue import catalogue_types, type_rows
from dtwin.machine_types.ranges import OperatingRanges
from dtwin.machine_types.schemas import MachineTypePut, SensorSpec
from dtwin.machine_types.service import MachineTypeService


def source(ranges: OperatingRanges) -> str:
    return ranges.source  # read through a call: each check sees the current value


async def test_catalogue_stands_in_until_the_registry_can_be_read(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = create_engine(url)
    catalogue = catalogue_types()
    assert catalogue is not None
    ranges = OperatingRanges(create_sessionmaker(engine), fallback=type_rows(catalogue))
    try:
        assert await ranges.load() is False  # no machine_types table yet: the registry is unavailable
        assert source(ranges) == "catalogue" and ranges.version == 1
        assert ranges("centrifugal_pump", "temperature_c") == (35.0, 80.0)

        await upgrade(url)
        async with transaction(ranges.sessions) as session:
            body = MachineTypePut(sensors=[SensorSpec(name="temperature_c", unit="°C", lo=30, hi=70)])
            await MachineTypeService(session).put("centrifugal_pump", body)
        assert await ranges.load() is True
        assert source(ranges) == "registry" and ranges.version == 2
        assert ranges("centrifugal_pump", "temperature_c") == (30.0, 70.0)
        assert ranges("boiler", "o2_pct") is None  # the registry decides now (this one was never seeded)

        assert await ranges.load() is True and ranges.version == 2  # nothing changed: same version
        await engine.dispose()
        (tmp_path / "r.db").unlink()
        (tmp_path / "r.db").mkdir()  # now the database cannot even be opened
        assert await ranges.load() is False
        assert source(ranges) == "registry" and ranges("centrifugal_pump", "temperature_c") == (30.0, 70.0)
    finally:
        await engine.dispose()


def test_set_type_changes_one_type_and_the_version() -> None:
    ranges = OperatingRanges(None)  # type: ignore[arg-type]  # never reads the database here
    ranges.set_type("press", [{"name": "pressure_bar", "lo": 0, "hi": 10}])
    assert (ranges("press", "pressure_bar"), ranges.version) == ((0.0, 10.0), 1)
    ranges.set_type("press", [{"name": "pressure_bar", "lo": 0, "hi": 10}])
    assert ranges.version == 1
    ranges.set_type("press", None)
    assert (ranges("press", "pressure_bar"), ranges.version) == (None, 2)
