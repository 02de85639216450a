"""Which rows alarm (EngineConfig.alarm_score): the calibrated score on a machine whose calibration is warm,
the level on a new machine and for an operating limit; episodes start on an alarm and resolve on the level."""

import numpy as np

from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.contracts.telemetry import Telemetry

from .helpers import telemetry

LIMITS = {"pump": {"temperature_c": (0.0, 120.0)}}
WARM = 1200  # rows: calibration weight 1 - 0.999**1200 = 0.70 >= warm_weight 0.5


def rows(n: int, seed: int, start: int = 0, level: float = 60.0, tail: float = 0.0) -> list[list[Telemetry]]:
    """One-row batches of a pump: temperature around `level` (Student-t noise with 3 degrees of freedom when
    `tail`: its rare large values are the machine's normal)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(start, start + n):
        x = rng.standard_t(3) * tail if tail else rng.normal() * 0.5
        out.append([telemetry("pump-1", s, {"temperature_c": level + x})])
    return out


def run(engine: ScoringEngine, batches: list[list[Telemetry]]) -> tuple[list[bool], list[float], list[str]]:
    alarms, levels, kinds = [], [], []
    for b in batches:
        out = engine.score_batch(b)
        alarms.append(bool(out.rows.alarm[0]))
        levels.append(float(out.rows.level[0]))
        kinds += [e.kind for e in out.events]
    return alarms, levels, kinds


def test_a_warm_machine_alarms_on_rare_rows_not_on_its_usual_heavy_tail() -> None:
    """Heavy-tailed noise crosses the level threshold now and then; once the calibration is warm those rows
    are the machine's normal and do not alarm, while the level rule keeps alarming on them."""
    batches = rows(WARM + 3000, seed=3, tail=1.0)
    calibrated, levels, _ = run(ScoringEngine(limits=LIMITS), batches)
    by_level, _, _ = run(ScoringEngine(EngineConfig(alarm_score=None), limits=LIMITS), batches)
    after = slice(WARM, None)
    crossings = sum(lv >= 0.5 for lv in levels[after])
    assert crossings >= 10  # the stream does cross the level threshold
    assert sum(by_level[after]) == crossings
    assert sum(calibrated[after]) <= crossings // 5


def test_a_new_machine_alarms_by_the_level() -> None:
    batches = rows(60, seed=4)
    batches.append([telemetry("pump-1", 60, {"temperature_c": 75.0})])  # a spike on row 61
    alarms, levels, kinds = run(ScoringEngine(limits=LIMITS), batches)
    assert levels[-1] >= 0.5 and alarms[-1] and "start" in kinds
    assert not any(alarms[:-1])


def test_a_spike_on_a_warm_machine_alarms_by_its_calibrated_score() -> None:
    batches = rows(WARM, seed=5)
    batches.append([telemetry("pump-1", WARM, {"temperature_c": 80.0})])
    alarms, _, kinds = run(ScoringEngine(limits=LIMITS), batches)
    assert alarms[-1] and kinds == ["start"]


def test_beyond_an_operating_limit_stays_in_alarm_after_calibration_learnt_it() -> None:
    """A warm machine moves above its range (120 °C) and stays: the limit's rows alarm throughout, though the
    calibrated score decays as the state persists; the episode opens once and stays open."""
    batches = rows(WARM, seed=6) + rows(2500, seed=7, start=WARM, level=130.0)
    engine = ScoringEngine(limits=LIMITS)
    alarms, _, kinds = run(engine, batches)
    assert all(alarms[WARM + 5 :])
    assert kinds.count("start") == 1 and "resolved" not in kinds
    plain = ScoringEngine(limits={})  # no range: a level shift that becomes the machine's new normal
    shifted, _, _ = run(plain, batches)
    assert any(shifted[WARM : WARM + 50]) and not any(shifted[-200:])


def test_an_episode_outlives_its_alarms_until_the_level_resolves() -> None:
    """A shift with no range: its rows stop alarming as the calibration learns the state, but the episode
    stays open while the level is above the threshold x resolve_ratio and resolves only after
    `resolve_after` batches below it."""
    cfg = EngineConfig()
    engine = ScoringEngine(cfg, limits={})
    batches = rows(WARM, seed=8) + rows(3000, seed=9, start=WARM, level=70.0)
    alarms, levels, open_ = [], [], []
    active = False
    for b in batches:
        out = engine.score_batch(b)
        alarms.append(bool(out.rows.alarm[0]))
        levels.append(float(out.rows.level[0]))
        for e in out.events:
            active = e.kind != "resolved"
        open_.append(active)
    first = alarms.index(True)
    last_alarm = len(alarms) - 1 - alarms[::-1].index(True)
    end = open_.index(False, first)
    assert first >= WARM and end > last_alarm  # open past its last alarming row...
    quiet = cfg.threshold * cfg.resolve_ratio
    assert any(levels[k] >= quiet for k in range(last_alarm + 1, end))  # ...while the level was up
    assert all(lv < quiet for lv in levels[end - cfg.resolve_after + 1 : end + 1])  # closed on the level
