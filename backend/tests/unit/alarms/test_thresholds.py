"""Threshold rules on the stream: deadband and on/off delays stop a chattering signal from raising more than
one alarm; a sustained excursion raises once and clears once; machine rules replace type rules; batching,
redelivery and missing values change nothing; an alarm open before a restart clears when the value is back."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from dtwin.alarms.thresholds import Rule, ThresholdEvaluator
from dtwin.contracts.telemetry import Telemetry

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def msgs(
    values: list[float], machine: str = "p1", sensor: str = "temp", mtype: str = "pump"
) -> list[Telemetry]:
    return [Telemetry(machine, mtype, T0 + timedelta(seconds=i), {sensor: v}) for i, v in enumerate(values)]


def run(ev: ThresholdEvaluator, items: list[Telemetry], batch: int = 10) -> list[tuple[float, bool]]:
    out = []
    for k in range(0, len(items), batch):
        part = items[k : k + batch]
        ev.register(part)
        out += [(c.ts - T0.timestamp(), c.raised) for c in ev.evaluate(part)]
    return out


def hi(**kw: float) -> Rule:
    base = {"id": 1, "name": "hot", "sensor": "temp", "kind": "hi", "threshold": 10.0, "priority": "high"}
    return Rule(machine_type="pump", **{**base, **kw})  # type: ignore[arg-type]


def chattering(n: int = 600, seed: int = 1) -> list[float]:
    """Noise around the threshold: crosses it every few samples."""
    rng = np.random.default_rng(seed)
    return (10.0 + 0.3 * rng.standard_normal(n)).tolist()


def test_a_chattering_signal_raises_many_alarms_without_the_cures() -> None:
    crossings = run(ThresholdEvaluator([hi()]), msgs(chattering()))
    assert sum(raised for _, raised in crossings) > 50


def test_deadband_and_delays_hold_a_chattering_signal_to_one_alarm() -> None:
    rule = hi(deadband=1.0, on_delay_s=5.0, off_delay_s=10.0)
    values = chattering()  # hovers at the threshold: at most one alarm, never cleared while it hovers
    crossings = run(ThresholdEvaluator([rule]), msgs(values))
    assert sum(raised for _, raised in crossings) <= 1
    assert [r for _, r in crossings if not r] == []


def test_a_sustained_excursion_raises_once_after_the_on_delay_and_clears_after_the_off_delay() -> None:
    values = [9.0] * 10 + [12.0] * 20 + [9.5] * 5 + [8.5] * 20  # 9.5 is inside the deadband: still active
    rule = hi(deadband=1.0, on_delay_s=3.0, off_delay_s=4.0)
    assert run(ThresholdEvaluator([rule]), msgs(values)) == [(13.0, True), (39.0, False)]


def test_lo_rules_look_below() -> None:
    values = [5.0] * 5 + [1.0] * 5 + [5.0] * 5
    rule = hi(kind="lo", threshold=2.0)  # type: ignore[arg-type]
    assert run(ThresholdEvaluator([rule]), msgs(values)) == [(5.0, True), (10.0, False)]


def test_a_machine_rule_replaces_its_types_rule_of_the_same_kind() -> None:
    own = hi(id=2, threshold=20.0, machine_id="p1")  # type: ignore[arg-type]
    ev = ThresholdEvaluator([hi(), own])
    assert run(ev, msgs([15.0] * 5, machine="p1")) == []  # 15 < 20: the machine's own limit
    assert run(ev, msgs([15.0] * 5, machine="p2")) == [(0.0, True)]  # the type's limit


def test_batching_does_not_change_the_answer() -> None:
    values = chattering(400, seed=2)
    rule = hi(deadband=0.2, on_delay_s=2.0, off_delay_s=2.0)
    one = run(ThresholdEvaluator([rule]), msgs(values), batch=400)
    small = run(ThresholdEvaluator([rule]), msgs(values), batch=7)
    assert one == small and len(one) > 2


def test_redelivered_readings_and_missing_values_change_nothing() -> None:
    ev = ThresholdEvaluator([hi(on_delay_s=3.0)])
    items = msgs([12.0, 12.0, math.nan, 12.0, 12.0])
    assert run(ev, items[:3]) == []
    assert run(ev, items[:3]) == []  # the same messages again
    assert run(ev, items[3:]) == [(3.0, True)]  # the NaN did not restart the delay


def test_an_alarm_open_before_a_restart_clears_when_the_value_is_back() -> None:
    ev = ThresholdEvaluator([hi()])
    items = msgs([12.0, 8.0, 8.0])
    assert ev.register(items) == ["p1"]
    ev.restore([("p1", "hi:temp")])
    assert [(c.raised, c.ts - T0.timestamp()) for c in ev.evaluate(items)] == [(False, 1.0)]


def test_several_machines_and_rules_in_one_batch() -> None:
    rules = [hi(), hi(id=3, kind="hihi", threshold=15.0, priority="critical")]  # type: ignore[arg-type]
    ev = ThresholdEvaluator(rules)
    items = msgs([12.0, 16.0, 9.0], machine="a") + msgs([16.0, 16.0, 16.0], machine="b")
    ev.register(items)
    got = sorted(
        (c.machine_id, c.rule.condition, c.ts - T0.timestamp(), c.raised) for c in ev.evaluate(items)
    )
    assert got == [
        ("a", "hi:temp", 0.0, True),
        ("a", "hi:temp", 2.0, False),
        ("a", "hihi:temp", 1.0, True),
        ("a", "hihi:temp", 2.0, False),
        ("b", "hi:temp", 0.0, True),
        ("b", "hihi:temp", 0.0, True),
    ]
    assert ev.active_conditions("b") == ["hi:temp", "hihi:temp"]
