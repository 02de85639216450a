"""The scoring engine's memory stays bounded whatever names devices send (issue 13): 10,000 new sensor names
and 10,000 new machine ids. Measured in-process: the numpy state (`memory_bytes`), everything the engine
allocates (tracemalloc) and the sizes of its Python index. Each test also runs the same churn the way the
engine worked before (no sensor limit, no correlation cap, no eviction) and shows it breaks the bound."""

import tracemalloc
from datetime import UTC, datetime, timedelta

import numpy as np

from dtwin.anomalies.correlation import CorrelationConfig
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.contracts.limits import DEFAULT_LIMITS
from dtwin.contracts.telemetry import Telemetry

T0 = datetime(2026, 11, 23, tzinfo=UTC)
SENSORS = tuple(f"s{i}" for i in range(8))
UNLIMITED = EngineConfig(max_sensors_per_type=10**9, correlation=CorrelationConfig(max_features=10**9))

# stated bounds
NAMES_NUMPY_BYTES = 1_000_000  # after 10,000 sensor names on one type (measured: 0.12 MB)
NAMES_TRACED_BYTES = 8_000_000  # ...everything the engine allocated, Python index included (measured: 2.1 MB)
# per machine slot of 8 sensors: 9.4 KB measured in steady state (7.5 KB before the calibrated ensemble's
# histograms), up to twice that with capacity doubling
MACHINE_SLOT_BYTES = 20_000


def name_churn(engine: ScoringEngine, names: int, per_message: int = 100, machines: int = 10) -> None:
    """`names` distinct sensor names on one machine type, `per_message` new ones in each message, the
    messages spread over `machines` machines."""
    rng = np.random.default_rng(0)
    for i in range(names // per_message):
        values = rng.normal(size=per_message).tolist()
        readings = {f"x{i * per_message + j:05d}": v for j, v in enumerate(values)}
        engine.score_batch([Telemetry(f"m{i % machines}", "pump", T0 + timedelta(seconds=i), readings)])


def test_sensor_name_churn_keeps_the_engine_state_bounded() -> None:
    tracemalloc.start()
    try:
        engine = ScoringEngine()
        name_churn(engine, 10_000)
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit = DEFAULT_LIMITS.max_sensors_per_type
    assert engine.index.types[0].n_features == limit
    assert engine.index.n_series == limit
    assert engine.refused_readings == 10_000 - limit
    assert engine.memory_bytes() < NAMES_NUMPY_BYTES
    assert traced < NAMES_TRACED_BYTES


def test_sensor_name_churn_without_the_limits_breaks_the_bound() -> None:
    """As before the limits: a tenth of the churn already holds far more than the bound (the correlation
    state per machine grows with the square of the type's sensor count)."""
    engine = ScoringEngine(UNLIMITED)
    name_churn(engine, 1_000)
    assert engine.index.types[0].n_features == 1_000
    assert engine.memory_bytes() > 10 * NAMES_NUMPY_BYTES


def machine_churn(
    engine: ScoringEngine, now: list[float], *, ids: int = 10_000, per_batch: int = 20, life: int = 3
) -> tuple[int, int]:
    """`ids` machines of 8 sensors; `per_batch` new ones start each second and send one message per second
    for `life` seconds, then fall silent. The stage's housekeeping evicts machines idle for 5 s every 5 s
    (clock: `now`). Returns the peak machine slots and the peak numpy state."""
    rng = np.random.default_rng(1)
    peak_slots = peak_bytes = 0
    for second in range(ids // per_batch + life):
        now[0] = float(second)
        lo, hi = max(0, (second - life + 1) * per_batch), min(ids, (second + 1) * per_batch)
        values = (50.0 + rng.normal(size=(hi - lo, len(SENSORS)))).tolist()
        ts = T0 + timedelta(seconds=second)
        engine.score_batch(
            [
                Telemetry(f"id{i:05d}", "pump", ts, dict(zip(SENSORS, v, strict=True)))
                for i, v in zip(range(lo, hi), values, strict=True)
            ]
        )
        if second % 5 == 0:
            engine.evict_idle(5.0)
        peak_slots = max(peak_slots, engine.index.n_machines)
        peak_bytes = max(peak_bytes, engine.memory_bytes())
    return peak_slots, peak_bytes


# machines alive at once: those heard within the idle time, the housekeeping interval and their life
LIVE = 20 * (5 + 5 + 3)
SLOTS = LIVE * 4 // 3  # dead slots are reclaimed once they are a quarter of all


def test_machine_id_churn_with_idle_eviction_keeps_the_engine_state_bounded() -> None:
    now = [0.0]
    engine = ScoringEngine(clock=lambda: now[0])
    peak_slots, peak_bytes = machine_churn(engine, now)
    assert peak_slots <= SLOTS
    assert peak_bytes <= SLOTS * MACHINE_SLOT_BYTES
    idx = engine.index
    assert idx.n_series == len(SENSORS) * idx.n_machines
    assert len(idx.slot_cache) <= idx.n_machines and len(idx.machine_ids) == idx.n_machines
    assert engine.compactions > 0


def test_machine_id_churn_without_eviction_breaks_the_bound() -> None:
    """As before eviction existed: every machine id ever seen keeps its state."""

    class NeverEvicts(ScoringEngine):
        def evict_idle(self, idle_s: float) -> list[str]:
            return []

    now = [0.0]
    engine = NeverEvicts(clock=lambda: now[0])
    peak_slots, peak_bytes = machine_churn(engine, now)
    assert peak_slots == 10_000
    assert peak_bytes > 10 * SLOTS * MACHINE_SLOT_BYTES
