"""The detection bench's RUL coverage: which instants count and what counts as inside the band."""

import math

from dtwin_devkit.bench.detection import T0, RunResult, rul_coverage

NAN = math.nan


def test_coverage_counts_instants_before_the_failure_of_degrading_machines() -> None:
    t0 = T0.timestamp()
    r = RunResult("s", 1)
    r.truth = [
        {"machine_id": "a", "kind": "bearing_wear", "start_s": 0.0, "end_s": 3600.0},
        {"machine_id": "b", "kind": "fouling", "start_s": 0.0, "end_s": 3600.0},  # never fails: censored
        {"machine_id": "c", "kind": "spikes", "start_s": 0.0, "end_s": 3600.0},  # not a degradation
    ]
    # machine a: health reaches 25 at t0 + 1800; records every 60 s
    for k in range(40):
        ts = t0 + 60.0 * k
        health = 90.0 - 65.0 * ts / 1800.0 + 65.0 * t0 / 1800.0
        left = t0 + 1800.0 - ts
        if k < 5:
            band = (NAN, NAN, NAN)  # no significant trend yet
        elif k < 15:
            band = (left, left / 2, left * 2)  # holds the failure
        else:
            band = (left * 3, left * 2, math.inf)  # misses it: too late
        r.health.append(("a", ts, health, *band))
        r.health.append(("b", ts, 80.0, 1e4, 1e3, 1e5))
        r.health.append(("c", ts, 10.0, 10.0, 0.0, 20.0))
    c = rul_coverage([r], every_s=300.0)
    assert (c.degrading, c.failed) == (2, 1)
    # instants at 0, 300, ..., 1500 s: 0 has no band; 300..840 (k = 5..14) hold it, 900.. do not
    assert (c.no_band, c.instants, c.inside) == (1, 5, 2)
    assert c.coverage == 2 / 5
