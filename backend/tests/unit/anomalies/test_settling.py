"""Settling windows after operator commands: a commanded step of the sensors a setting drives raises nothing,
during the window or after it (the baselines re-anchored), while the same step without a command, a step of a
sensor the command does not drive, or a reading beyond the operating range still raise. Also the stage's
path: a whole twin on the change stream whose desired state moved opens the window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import numpy as np
import numpy.typing as npt
import pytest

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.settling import CatalogueEffects
from dtwin.anomalies.type_model import TrainingPolicy, fit_model
from dtwin.contracts.catalogue import catalogue_type
from dtwin.contracts.changes import TwinsMessage, twin_change
from dtwin.twins.store import decode_twin

from .helpers import T0, machine_rows
from .test_scoring import stage_for

TYPE = "air_compressor"
SENSORS = ("discharge_pressure_bar", "motor_current_a", "power_kw", "vibration_mm_s", "oil_temperature_c")
NOISE = np.array([0.03, 0.8, 0.5, 0.06, 0.3])
WARM_S = 2400  # past the drift detector's warm-up, so a shifted level would show as drift too
AFTER_S = 1200  # the window (120 s) and ten times as long again
BATCH = 5  # rows per batch, as the consumer sees a 1 Hz machine


def run(
    step: dict[str, float],
    *,
    command: list[str] | None,
    limits: dict[str, tuple[float, float]] | None = None,
    seed: int = 3,
    warm: int = WARM_S,
    hz: int = 1,
    batch: int = BATCH,
) -> tuple[npt.NDArray[np.float64], ScoringEngine]:
    """A steady air compressor (`hz` rows a second, `batch` rows a batch), `step` added to some sensors from
    row `warm` + 2; if `command` is given, the engine hears of a change of those settings half a row after
    row `warm`. Returns each row's score."""
    rng = np.random.default_rng(seed)
    n = warm + AFTER_S * hz
    base = np.array([7.6, 100.0, 60.0, 2.0, 65.0])
    X = base + NOISE * rng.standard_normal((n, len(SENSORS)))
    for name, delta in step.items():
        X[warm + 2 :, SENSORS.index(name)] += delta
    # one machine: the type model may fit on fewer healthy vectors than a fleet's default
    config = EngineConfig(training=TrainingPolicy(min_samples=200, sample_stride=5))
    engine = ScoringEngine(config, limits={TYPE: limits} if limits else None)
    scores = np.zeros(n)
    for start in range(0, n, batch):
        if command is not None and start == warm:
            engine.command("c1", command, T0.timestamp() + (warm + 0.5) / hz)
        rows = X[start : start + batch]
        out = machine_rows(engine, "c1", TYPE, SENSORS, rows, start_s=start / hz, step_s=1 / hz)
        scores[start : start + batch] = out.rows.level
        for job in engine.training_due():  # the type model, fitted inline as the process pool would
            engine.install_model(fit_model(*job))
    return scores, engine


# 7.6 -> 7.0 bar: pressure, current and power step together; or the pressure alone (a single moved sensor
# has no common-mode explanation: only the re-anchored baselines keep it quiet after the window)
PRESSURE_STEP = {"discharge_pressure_bar": -0.6, "motor_current_a": -5.0, "power_kw": -3.0}
STEPS = pytest.mark.parametrize(
    "step", [PRESSURE_STEP, {"discharge_pressure_bar": -0.6}], ids=["three-sensors", "pressure-alone"]
)


@STEPS
def test_step_without_a_command_raises_an_anomaly(step: dict[str, float]) -> None:
    scores, engine = run(step, command=None)
    assert engine.model(TYPE) is not None  # the type model was in use
    assert scores[:WARM_S].max() < 0.5  # the steady warm-up is quiet...
    assert scores[WARM_S:].max() >= 0.5  # ...and the unexplained step is an anomaly


@STEPS
def test_commanded_step_raises_nothing_in_the_window_or_after(step: dict[str, float]) -> None:
    scores, engine = run(step, command=["pressure_setpoint_bar"])
    assert scores[WARM_S:].max() < 0.5
    assert engine.machines.active.max() == 0  # no episode opened


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_command_while_the_series_warm_up_raises_nothing_after_the_window(seed: int) -> None:
    """A command after the machine's first reading (the embedded demo's case, 5 Hz, one row a batch): its
    series go on learning their noise scales through the window; frozen at one sample, ordinary noise read
    as a rate-of-change anomaly the moment the window ended."""
    command = ["pressure_setpoint_bar"]
    scores, engine = run(PRESSURE_STEP, command=command, warm=1, hz=5, batch=1, seed=seed)
    assert scores.max() < 0.5
    assert engine.machines.active.max() == 0


def test_command_settles_only_the_sensors_its_setting_drives() -> None:
    # the catalogue: the pressure setpoint drives pressure, current and power, not vibration
    assert "vibration_mm_s" not in catalogue_type(TYPE).commands["pressure_setpoint_bar"]
    scores, _ = run({**PRESSURE_STEP, "vibration_mm_s": 1.0}, command=["pressure_setpoint_bar"])
    assert scores[WARM_S : WARM_S + 120].max() >= 0.5


def test_unknown_setting_settles_every_sensor() -> None:
    scores, _ = run({**PRESSURE_STEP, "vibration_mm_s": 1.0}, command=["mode"])
    assert scores[WARM_S:].max() < 0.5


def test_reading_beyond_its_operating_range_still_raises_while_settling() -> None:
    ranges = zip(SENSORS, (5, 60, 30, 0.5, 40), (9, 140, 90, 4.5, 90), strict=True)
    limits = {name: (float(lo), float(hi)) for name, lo, hi in ranges}
    scores, _ = run({"discharge_pressure_bar": 3.0}, command=["pressure_setpoint_bar"], limits=limits)
    assert scores[WARM_S + 2 : WARM_S + 120].max() >= 0.5


def test_window_length_comes_from_the_type_and_is_bounded() -> None:
    engine = ScoringEngine()
    machine_rows(engine, "c1", TYPE, SENSORS, np.ones((1, len(SENSORS))))
    engine.command("c1", ["pressure_setpoint_bar"], 1000.0)
    settle = engine.fleet.settle
    slots = engine.register("c1", TYPE, SENSORS)
    assert settle.until[slots].tolist() == [1120.0, 1120.0, 1120.0, -np.inf, -np.inf]
    assert engine.config.settle_window_s(CatalogueEffects().settle_s(TYPE)) == 120.0
    assert engine.config.settle_window_s(10 * 3600.0) == engine.config.settle_max_s
    assert engine.config.settle_window_s(None) == engine.config.settle_default_s


def test_command_for_a_machine_scored_elsewhere_is_ignored() -> None:
    assert ScoringEngine().command("not-mine", ["mode"], 0.0) == []


async def test_desired_change_on_the_change_stream_opens_the_window(tmp_path: Path) -> None:
    engine = ScoringEngine()
    stage = stage_for(engine, fakeredis.FakeAsyncRedis(), tmp_path)
    machine_rows(engine, "c1", TYPE, SENSORS, np.ones((1, len(SENSORS))))
    slots = engine.register("c1", TYPE, SENSORS)
    twin = {**decode_twin("c1", {}), "machine_type": TYPE, "desired": {"pressure_setpoint_bar": 7.6}}
    stage.on_change(TwinsMessage(items=[twin_change({**twin, "desired_version": 1})]))  # first sight: applied
    assert np.isinf(engine.fleet.settle.until[slots]).all()

    at = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    patched = {
        **twin,
        "desired": {"pressure_setpoint_bar": 7.0},
        "desired_version": 2,
        "updated_at": at.isoformat().replace("+00:00", "Z"),
        "delta": {"pressure_setpoint_bar": 7.0},
        "command": {"version": 2, "status": "pending", "applied": {}, "rejected": {}, "ts": None},
    }
    stage.on_change(TwinsMessage(items=[twin_change(patched)]))
    until = engine.fleet.settle.until[slots]
    assert until[:3].tolist() == [at.timestamp() + 120.0] * 3 and np.isinf(until[3:]).all()

    # the device applied it 30 s later: the window runs 120 s from then
    acked = {
        **patched,
        "delta": {},
        "command": {
            "version": 2,
            "status": "accepted",
            "applied": {"pressure_setpoint_bar": 7.0},
            "rejected": {},
            "ts": datetime.fromtimestamp(at.timestamp() + 30.0, UTC).isoformat().replace("+00:00", "Z"),
        },
    }
    stage.on_change(TwinsMessage(items=[twin_change(acked)]))
    assert engine.fleet.settle.until[slots][:3].tolist() == [at.timestamp() + 150.0] * 3
    assert engine.fleet.settle.since[slots][:3].tolist() == [at.timestamp()] * 3
