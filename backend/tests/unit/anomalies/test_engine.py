"""ScoringEngine over Telemetry batches: rounds, redelivery, explanations, events, JSON output."""

import json
from dataclasses import fields
from datetime import timedelta, timezone

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.contracts.telemetry import Telemetry, iso_utc

from .helpers import telemetry

SENSORS = ("temperature_c", "vibration_mm_s", "pressure_bar", "flow_m3_h")
LIMITS = {"pump": {"temperature_c": (0.0, 120.0), "vibration_mm_s": (0.0, 10.0)}}


def fleet_batch(second: int, rng: np.random.Generator, machines: int = 3) -> list[Telemetry]:
    base = np.array([60.0, 3.0, 6.0, 100.0])
    noise = np.array([0.5, 0.05, 0.05, 1.0])
    return [
        telemetry(
            f"pump-{m}", second, dict(zip(SENSORS, (base + noise * rng.normal(size=4)).tolist(), strict=True))
        )
        for m in range(machines)
    ]


def warmed_engine(config: EngineConfig | None = None, seconds: int = 120) -> tuple[ScoringEngine, int]:
    engine = ScoringEngine(config, limits=LIMITS)
    rng = np.random.default_rng(0)
    for s in range(seconds):
        engine.score_batch(fleet_batch(s, rng))
    return engine, seconds


def test_two_readings_in_one_batch_equal_two_batches() -> None:
    rng = np.random.default_rng(1)
    history = [fleet_batch(s, rng) for s in range(80)]
    a, b = ScoringEngine(limits=LIMITS), ScoringEngine(limits=LIMITS)
    for batch in history[:78]:
        a.score_batch(batch)
        b.score_batch(batch)
    x, y = history[78], history[79]
    y[0].readings["vibration_mm_s"] = 9.0  # something for the explanations and events to carry
    together = a.score_batch(x + y)  # pump-0..2 each occur twice: two rounds
    first, second = b.score_batch(x), b.score_batch(y)
    np.testing.assert_allclose(
        together.readings.score, np.concatenate([first.readings.score, second.readings.score]), rtol=1e-12
    )
    for f in fields(a.series):
        np.testing.assert_allclose(getattr(a.series, f.name), getattr(b.series, f.name), rtol=1e-12)
    for machine_id in ("pump-0", "pump-1", "pump-2"):
        ha, hb = a.health(machine_id), b.health(machine_id)
        assert ha is not None and hb is not None
        assert abs(ha.health - hb.health) < 1e-9


def test_redelivered_batch_is_skipped() -> None:
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(2))
    engine.score_batch(batch)
    before = engine.series.lvl.copy()
    again = engine.score_batch(batch)
    assert not again.readings.scored.any()
    np.testing.assert_array_equal(engine.series.lvl, before)


def test_explanation_names_the_injected_sensor_first() -> None:
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(3))
    batch[1].readings["pressure_bar"] = 7.5  # 30 sigma above its level
    out = engine.score_batch(batch)
    results = {r.machine_id: r for r in out.machines.results()}
    assert results["pump-1"].is_anomaly
    assert not results["pump-0"].is_anomaly and not results["pump-2"].is_anomaly
    top = results["pump-1"].explanation[0]
    assert top.sensor == "pressure_bar"
    assert top.value == 7.5
    assert top.expected is not None and abs(top.expected - 6.0) < 0.1
    assert top.z is not None and top.z > 10
    assert top.detector == "spike"


def test_explanation_reports_percent_of_range_when_limits_are_known() -> None:
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(4))
    batch[0].readings["temperature_c"] = 84.0
    out = engine.score_batch(batch)
    top = out.machines.explanations["pump-0"][0]
    assert top.sensor == "temperature_c"
    assert top.pct_of_range is not None and top.expected is not None
    assert abs(top.pct_of_range - (84.0 - top.expected) / 120.0 * 100) < 1e-9


def test_continuing_anomaly_emits_start_once_then_resolved() -> None:
    engine, s = warmed_engine()
    rng = np.random.default_rng(5)
    kinds: list[str] = []
    for k in range(40):
        batch = fleet_batch(s + k, rng)
        if k < 20:
            batch[2].readings["vibration_mm_s"] = 11.0  # beyond the 10 mm/s limit, for 20 batches
        kinds += [e.kind for e in engine.score_batch(batch).events if e.machine_id == "pump-2"]
    assert kinds.count("start") == 1
    assert kinds.count("resolved") == 1
    assert kinds.index("start") < kinds.index("resolved")
    assert len(kinds) <= 4  # start, at most a couple of updates, resolved


def test_per_type_threshold() -> None:
    engine, s = warmed_engine(EngineConfig(thresholds={"pump": 0.999}))
    batch = fleet_batch(s, np.random.default_rng(6))
    batch[0].readings["pressure_bar"] = 6.6  # clearly anomalous, below a 0.999 threshold
    out = engine.score_batch(batch)
    assert 0.5 < out.machines.score[0] < 0.999
    assert not out.machines.is_anomaly.any()
    assert out.events == []


def test_batch_to_dict_is_json_with_utc_timestamps() -> None:
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(7))
    batch[0].readings["pressure_bar"] = 7.5
    doc = engine.score_batch(batch).to_dict()
    text = json.dumps(doc, allow_nan=False)
    assert '"ts": "2026-11-23T00:02:00.000Z"' in text
    machines = doc["machines"]
    assert isinstance(machines, list) and len(machines) == 3
    events = doc["events"]
    assert isinstance(events, list) and events and isinstance(events[0], dict)
    assert events[0]["kind"] == "start"


def test_machine_json_agrees_with_the_result_objects_and_picks_only_the_asked_machines() -> None:
    """`MachineScores.dicts` (the analytics JSON, built from the arrays) holds what `results()` holds, and
    `dicts(only)` is `dicts()` at those positions."""
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(5))
    batch[2].readings["pressure_bar"] = 7.5
    machines = engine.score_batch(batch).machines
    whole, objects = machines.dicts(), machines.results()
    for d, r in zip(whole, objects, strict=True):
        assert d["machine_id"] == r.machine_id and d["machine_type"] == r.machine_type
        assert (
            d["ts"] == iso_utc(r.ts) and d["score"] == round(r.score, 4) and d["health"] == round(r.health, 2)
        )
        assert (d["is_anomaly"], d["detector"], d["strategy"]) == (r.is_anomaly, r.detector, r.strategy)
        assert d["correlation_breaks"] == r.correlation_breaks
        assert d["explanation"] == [c.to_dict() for c in r.explanation]
    assert any(d["is_anomaly"] and d["explanation"] for d in whole)
    assert machines.dicts([2, 0]) == [whole[2], whole[0]]


def test_single_reading_messages_form_rows_per_message() -> None:
    engine = ScoringEngine(limits=LIMITS)
    items = [telemetry("gw-1", s, {"temperature_c": 60.0 + 0.1 * (s % 7)}) for s in range(50)]
    out = engine.score_batch(items)
    assert out.readings.score.shape == (50,)
    assert out.rows.score.shape == (50,)
    assert len(out.machines) == 1


def test_queries_for_unknown_machine_return_none() -> None:
    engine = ScoringEngine()
    assert engine.health("nope") is None
    assert engine.decision("nope") is None
    assert engine.correlations("nope") is None


def test_bad_quality_readings_are_not_scored() -> None:
    engine, s = warmed_engine()
    batch = fleet_batch(s, np.random.default_rng(8))
    batch[0].readings["pressure_bar"] = 50.0
    batch[0].quality = "bad"
    out = engine.score_batch(batch)
    assert not out.readings.scored[: len(SENSORS)].any()
    assert out.readings.scored[len(SENSORS) :].all()
    assert not out.events


class ChangingLimits:
    """A limits source that can change (as the machine-type registry's ranges do)."""

    def __init__(self, table: dict[str, dict[str, tuple[float, float]]]) -> None:
        self.table = table
        self.version = 1

    def __call__(self, machine_type: str, sensor: str) -> tuple[float, float] | None:
        return self.table.get(machine_type, {}).get(sensor)

    def set(self, machine_type: str, sensor: str, r: tuple[float, float] | None) -> None:
        types = self.table.setdefault(machine_type, {})
        if r is None:
            types.pop(sensor, None)
        else:
            types[sensor] = r
        self.version += 1


def test_changed_limits_apply_to_known_series_from_the_next_batch() -> None:
    limits = ChangingLimits({"pump": {"temperature_c": (0.0, 120.0)}})
    engine = ScoringEngine(limits=limits)
    rng = np.random.default_rng(7)
    for s in range(60):
        engine.score_batch(fleet_batch(s, rng))
    out = engine.score_batch(fleet_batch(60, rng))
    assert not out.machines.is_anomaly.any()  # temperature ~60 inside 0..120

    limits.set("pump", "temperature_c", (0.0, 40.0))  # the same readings are now far above the range
    out = engine.score_batch(fleet_batch(61, rng))
    assert out.machines.is_anomaly.all()
    assert {e.machine_id for e in out.events if e.kind == "start"} == {"pump-0", "pump-1", "pump-2"}
    assert all(r.explanation[0].detector == "limit" for r in out.machines.results())
    slot = engine.index.slots_for("pump-1", "pump", ["temperature_c"])[0]
    assert (engine.series.lo[slot], engine.series.hi[slot]) == (0.0, 40.0)

    limits.set("pump", "temperature_c", None)  # range removed: the limit detector stops for that sensor
    engine.score_batch(fleet_batch(62, rng))
    assert np.isnan(engine.series.lo[slot]) and np.isnan(engine.series.hi[slot])


def test_unchanged_version_keeps_the_ranges_read_at_first_sight() -> None:
    limits = ChangingLimits({"pump": {"temperature_c": (0.0, 120.0)}})
    engine = ScoringEngine(limits=limits)
    rng = np.random.default_rng(8)
    engine.score_batch(fleet_batch(0, rng))
    limits.table["pump"]["temperature_c"] = (0.0, 40.0)  # changed without a new version: not re-read
    engine.score_batch(fleet_batch(1, rng))
    slot = engine.index.slots_for("pump-0", "pump", ["temperature_c"])[0]
    assert engine.series.hi[slot] == 120.0


def test_row_times_are_each_messages_instant() -> None:
    """Messages at a few instants, some written in another time zone: each row has its own epoch seconds."""
    rng = np.random.default_rng(5)
    items = fleet_batch(0, rng, machines=6)
    plus2 = timezone(timedelta(hours=2))
    shifts = [0, 0, 1, 1, 0, 2]
    for k, (t, shift) in enumerate(zip(items, shifts, strict=True)):
        t.ts = t.ts + timedelta(seconds=shift)
        if k % 2:
            t.ts = t.ts.astimezone(plus2)  # the same instant
    scores = ScoringEngine(limits=LIMITS).score_batch(items)
    assert scores.rows.ts.tolist() == [t.ts.timestamp() for t in items]
    assert len(set(scores.rows.ts.tolist())) == 3
