"""The what-if predictor on synthetic histories: it recovers a known relation within its interval, says
when history is too thin, borrows slopes from the fleet, and what a predicted level means for range and
health."""

from __future__ import annotations

import numpy as np
import pytest

from dtwin.whatif.predict import (
    Sample,
    evidence_range,
    health_allowed,
    limit_evidence,
    predict,
    probability_outside,
    t_quantile,
)


def linear_history(
    machine: str, setpoints: list[float], a: float, b: float, sd: float, seed: int
) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [Sample(machine, (x,), a + b * x + float(rng.normal(0, sd))) for x in setpoints]


def test_a_linear_relation_is_recovered_within_the_interval() -> None:
    # flow = 10 + 0.04 * speed, noise sd 1.5 on each steady level
    samples = linear_history("p1", [1600, 1800, 2000, 2200, 2400, 2600, 2800, 3000] * 2, 10.0, 0.04, 1.5, 1)
    p = predict(samples, (2500.0,), "p1")
    truth = 10.0 + 0.04 * 2500
    assert p.method == "history_regression" and p.samples == 16 and p.machines == 1 and p.distinct == 8
    assert p.value is not None and p.lower is not None and p.upper is not None and p.sigma is not None
    assert p.lower < truth < p.upper
    assert abs(p.value - truth) < 2 * p.sigma
    assert 0.5 < p.sigma < 2.5  # about the noise (sd 1.5, estimated from 14 dof)
    assert not p.extrapolated
    assert predict(samples, (3200.0,), "p1").extrapolated


def test_coverage_of_the_interval_is_about_its_level() -> None:
    covered = 0
    for seed in range(200):
        samples = linear_history("p", [1500, 1900, 2300, 2700, 3000], 5.0, 0.01, 0.5, seed)
        p = predict(samples, (2100.0,), "p")
        assert p.lower is not None and p.upper is not None
        truth = 5.0 + 0.01 * 2100 + float(np.random.default_rng(10_000 + seed).normal(0, 0.5))
        covered += p.lower <= truth <= p.upper
    assert 0.88 <= covered / 200 <= 0.99


def test_a_curve_is_taken_when_it_predicts_better() -> None:
    xs = [float(x) for x in range(20, 101, 10)] * 2
    rng = np.random.default_rng(3)
    samples = [Sample("f", (x,), 0.002 * x**2 + float(rng.normal(0, 0.2))) for x in xs]  # fan power ~ speed^2
    p = predict(samples, (95.0,), "f")
    assert p.degree == 2 and p.lower is not None and p.upper is not None
    assert p.lower < 0.002 * 95**2 < p.upper


def test_too_little_history_is_named_and_no_number_is_invented() -> None:
    one_setting = [Sample("p1", (2900.0,), 100.0 + k * 0.1) for k in range(6)]
    p = predict(one_setting, (2000.0,), "p1")
    assert p.method == "insufficient_history"
    assert p.value is None and p.lower is None and p.sigma is None
    assert p.samples == 6 and p.distinct == 1
    assert p.reason is not None and "6 steady span(s) of this machine at 1 distinct setting(s)" in p.reason
    nothing = predict([], (2000.0,), "p1")
    assert nothing.method == "insufficient_history" and "anchor its level" in str(nothing.reason)


def test_the_fleet_lends_its_slopes_and_the_machine_keeps_its_level() -> None:
    own = [Sample("p1", (2900.0,), 30.0 + 0.04 * 2900 + d) for d in (-0.3, 0.1, 0.2)]  # offset +30
    fleet = linear_history("p2", [1600, 2000, 2400, 2800], 0.0, 0.04, 0.3, 5)
    fleet += linear_history("p3", [1700, 2100, 2500, 2900], -20.0, 0.04, 0.3, 6)  # another offset
    p = predict(own + fleet, (2000.0,), "p1")
    assert p.method == "fleet_regression" and p.machines == 3 and p.samples == 11
    assert p.lower is not None and p.upper is not None
    assert p.lower < 30.0 + 0.04 * 2000 < p.upper  # its own level, the fleet's slope


def test_a_mode_level_needs_no_setting_feature() -> None:
    samples = [Sample("p", (), 12.0 + d) for d in (0.1, -0.2, 0.05, 0.0)]
    p = predict(samples, (), "p")
    assert p.method == "history_regression" and p.value == pytest.approx(11.9875)


def test_limit_evidence_health_and_probability() -> None:
    lo, hi = 40.0, 140.0  # span 100: evidence 0 up to 135, 1 at 145
    assert limit_evidence(100.0, lo, hi) == 0.0
    assert limit_evidence(135.0, lo, hi) == 0.0
    assert limit_evidence(145.0, lo, hi) == pytest.approx(1.0)
    assert limit_evidence(35.0, lo, hi) == pytest.approx(1.0)
    assert health_allowed(0.0) == 100.0 and health_allowed(1.0) == pytest.approx(50.0)
    assert evidence_range(90.0, 110.0, lo, hi) == (0.0, 0.0)
    least, most = evidence_range(137.0, 150.0, lo, hi)
    assert least == pytest.approx(0.2) and most == pytest.approx(1.5)
    assert probability_outside(140.0, 5.0, lo, hi) == pytest.approx(0.5)
    assert probability_outside(90.0, 0.0, lo, hi) == 0.0


def test_t_quantiles() -> None:
    assert t_quantile(0.975, 10) == pytest.approx(2.228, abs=0.01)
    assert t_quantile(0.975, 3) == pytest.approx(3.182, rel=0.03)
    assert t_quantile(0.975, 1000) == pytest.approx(1.962, abs=0.003)
