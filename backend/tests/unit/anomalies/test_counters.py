"""Cumulative counters (an energy meter's kWh: `counter: true` in the catalogue and the registry) are never
anomaly-scored: a register that only rises would look like a drift to every detector. The meter's other
sensors are scored as usual, and the counter's readings are neither refused nor given series state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.index import UNSCORED
from dtwin.contracts.telemetry import Telemetry
from dtwin.machine_types.catalogue import catalogue_types, counters_table_of
from dtwin.machine_types.ranges import OperatingRanges

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def meter_batches(engine: ScoringEngine, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    scores = []
    for i in range(n):
        readings = {"energy_kwh": 1000.0 + 5.0 * i, "power_kw": 30.0 + rng.normal()}
        got = engine.score_batch([Telemetry("em-1", "energy_meter", T0 + timedelta(seconds=i), readings)])
        scores.append(got.readings.scored)
    return scores


def test_the_catalogue_marks_the_meter_register_a_counter() -> None:
    counters = counters_table_of(catalogue_types())
    assert counters["energy_meter"] == frozenset({"energy_kwh"})
    assert all(not c for name, c in counters.items() if name != "energy_meter")


def test_a_counter_is_skipped_and_its_neighbours_scored() -> None:
    ranges = OperatingRanges(None)  # type: ignore[arg-type]  # (no registry read: types set directly)
    for t in catalogue_types():  # as a registry change committed in this process sets them
        assert t.name is not None
        ranges.set_type(t.name, [s.model_dump() for s in t.sensors])
    assert ranges.is_counter("energy_meter", "energy_kwh") and not ranges.is_counter(
        "energy_meter", "power_kw"
    )
    engine = ScoringEngine(unscored=ranges.is_counter)
    scored = meter_batches(engine, 300)
    assert engine.index.n_series == 1  # power_kw only: the register has no series state
    assert engine.index.message_slots("em-1", "energy_meter", ("energy_kwh", "power_kw"))[0] == UNSCORED
    assert all(not s[0] for s in scored)  # energy_kwh never scored
    assert sum(bool(s[1]) for s in scored) > 250  # power_kw scored (after warm-up duplicates aside)
    assert engine.refused_readings == 0


def test_without_the_counter_flag_the_rising_register_is_scored() -> None:
    """What the flag prevents: scored, the register's steady rise is a series like any other."""
    engine = ScoringEngine()
    scored = meter_batches(engine, 50)
    assert engine.index.n_series == 2 and any(bool(s[0]) for s in scored)
