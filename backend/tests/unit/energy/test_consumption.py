"""Consumption from counters: deltas across resets, rollovers and meter replacement, gaps spread over the
missing span, calendar buckets in a time zone (23 h and 25 h days), and a simulated meter with faults."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dtwin.energy.consumption import (
    GAP,
    OK,
    REPLACEMENT,
    RESET,
    ROLLOVER,
    bucket_consumption,
    interval_consumption,
)

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).timestamp()


def test_steady_counter_gives_its_deltas() -> None:
    kwh, flags = interval_consumption([0, 60, 120], [100.0, 101.5, 103.0])
    assert kwh.tolist() == pytest.approx([1.5, 1.5])
    assert flags.tolist() == [OK, OK]


def test_reset_to_zero_counts_the_new_reading() -> None:
    kwh, flags = interval_consumption([0, 60, 120], [5000.0, 0.4, 1.9], max_power_kw=100)
    assert kwh.tolist() == pytest.approx([0.4, 1.5])
    assert flags.tolist() == [RESET, OK]


def test_rollover_counts_up_to_the_wrap_and_after_it() -> None:
    kwh, flags = interval_consumption([0, 60], [999_999.0, 0.6], rollover_kwh=999_999.9, max_power_kw=100)
    assert kwh[0] == pytest.approx(1.5)
    assert flags.tolist() == [ROLLOVER]


def test_rollover_at_a_meter_specific_value() -> None:
    kwh, flags = interval_consumption([0, 60], [99_999.5, 0.5], rollover_kwh=100_000, max_power_kw=100)
    assert kwh[0] == pytest.approx(1.0) and flags[0] == ROLLOVER


def test_replacement_by_an_arbitrary_low_reading_counts_zero() -> None:
    kwh, flags = interval_consumption([0, 60, 120], [48_000.0, 250.0, 251.0], max_power_kw=100)
    assert kwh.tolist() == pytest.approx([0.0, 1.0])
    assert flags.tolist() == [REPLACEMENT, OK]


def test_an_implausible_jump_up_is_a_replacement_not_consumption() -> None:
    kwh, flags = interval_consumption([0, 60, 120], [250.0, 48_000.0, 48_001.0], max_power_kw=100)
    assert kwh.tolist() == pytest.approx([0.0, 1.0])
    assert flags.tolist() == [REPLACEMENT, OK]


def test_jitter_backwards_is_zero_not_negative() -> None:
    kwh, flags = interval_consumption([0, 60], [100.0, 99.995])
    assert kwh.tolist() == [0.0] and flags.tolist() == [OK]


def test_a_counter_going_backwards_is_never_negative_consumption() -> None:
    rng = np.random.default_rng(5)
    readings = rng.uniform(0, 1_000_000, 500)
    kwh, _ = interval_consumption(np.arange(500) * 60.0, readings, max_power_kw=1_000)
    assert (kwh >= 0).all()


def test_a_gap_is_flagged_and_its_delta_spread_over_the_span() -> None:
    ts = [berlin(2026, 3, 2, 9, 0), berlin(2026, 3, 2, 10, 0), berlin(2026, 3, 2, 14, 0)]
    kwh, flags = interval_consumption(ts, [0.0, 10.0, 50.0], max_gap_s=900, max_power_kw=1_000)
    assert flags.tolist() == [GAP, GAP]
    hours = bucket_consumption(ts, kwh, "hour", "Europe/Berlin", flags)
    assert hours.kwh.tolist() == pytest.approx([10.0, 10.0, 10.0, 10.0, 10.0])
    assert hours.interpolated_kwh.tolist() == pytest.approx(hours.kwh.tolist())


def test_an_interval_straddling_midnight_is_split_pro_rata() -> None:
    ts = [berlin(2026, 6, 1, 23, 0), berlin(2026, 6, 2, 2, 0)]
    days = bucket_consumption(ts, [30.0], "day", "Europe/Berlin")
    assert days.start.tolist() == [berlin(2026, 6, 1), berlin(2026, 6, 2)]
    assert days.kwh.tolist() == pytest.approx([10.0, 20.0])


def test_spring_forward_day_is_23_hours_in_berlin() -> None:
    # 1 kWh every real hour from Saturday 00:00 to Monday 00:00 local (29 March 2026: clocks go forward)
    start, end = berlin(2026, 3, 28), berlin(2026, 3, 30)
    ts = np.arange(start, end + 1, 3600.0)
    days = bucket_consumption(ts, np.ones(ts.size - 1), "day", "Europe/Berlin")
    assert ((days.end - days.start) / 3600).tolist() == [24.0, 23.0]
    assert days.kwh.tolist() == pytest.approx([24.0, 23.0])


def test_fall_back_day_is_25_hours_in_berlin() -> None:
    start, end = berlin(2026, 10, 25), berlin(2026, 10, 26)
    ts = np.arange(start, end + 1, 900.0)
    days = bucket_consumption(ts, np.full(ts.size - 1, 0.25), "day", "Europe/Berlin")
    assert ((days.end - days.start) / 3600).tolist() == [25.0]
    assert days.kwh.tolist() == pytest.approx([25.0])
    hours = bucket_consumption(ts, np.full(ts.size - 1, 0.25), "hour", "Europe/Berlin")
    assert hours.kwh.size == 25 and hours.kwh == pytest.approx(np.ones(25))


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    ts = [berlin(2026, 3, 25, 12), berlin(2026, 4, 8, 12)]  # Wednesday to Wednesday, 14 days
    weeks = bucket_consumption(ts, [14.0], "week", "Europe/Berlin")
    assert weeks.start.tolist() == [berlin(2026, 3, 23), berlin(2026, 3, 30), berlin(2026, 4, 6)]
    assert weeks.kwh.sum() == pytest.approx(14.0)
    months = bucket_consumption(ts, [14.0], "month", "Europe/Berlin")
    assert months.start.tolist() == [berlin(2026, 3, 1), berlin(2026, 4, 1)]
    # real hours: March's share is 6.5 days minus the hour lost on 29 March, of 14 days minus that hour
    assert months.kwh[0] == pytest.approx(14.0 * (6.5 * 24 - 1) / (14 * 24 - 1))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        interval_consumption([0, 0], [1.0, 2.0])
    with pytest.raises(ValueError, match="timestamps for"):
        interval_consumption([0, 1], [1.0])
    with pytest.raises(ValueError, match="period"):
        bucket_consumption([0, 1], [1.0], "year", "UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(20))
def test_simulated_meter_with_faults_sums_to_its_true_energy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2_000
    dt = rng.choice([60.0, 60.0, 60.0, 3_600.0], n - 1)  # some readings missing (gaps)
    ts = np.concatenate(([0.0], np.cumsum(dt)))
    power = rng.uniform(5.0, 300.0, n - 1)  # kW over each interval
    true = power * dt / 3600.0
    rollover = 999_999.9
    register = np.empty(n)
    register[0] = rng.uniform(990_000, rollover)  # wraps early in the run
    lost = 0.0
    events = rng.choice(n - 1, 6, replace=False)
    for i in range(n - 1):
        value = register[i] + true[i]
        if i == events[0]:
            value = true[i]  # reset at the start of the interval
        elif i == events[1]:
            value = rng.uniform(100.0, 5_000.0) + true[i]  # replaced by another meter
            lost += true[i]
        register[i + 1] = value % rollover
    kwh, flags = interval_consumption(ts, register, rollover_kwh=rollover, max_power_kw=500)
    assert (kwh >= 0).all()
    assert kwh.sum() == pytest.approx(true.sum() - lost, rel=1e-6)
    assert np.count_nonzero(flags == RESET) == 1 and np.count_nonzero(flags == REPLACEMENT) == 1
    assert np.count_nonzero(flags == ROLLOVER) >= 1
    days = bucket_consumption(ts, kwh, "day", "Europe/Berlin", flags)
    assert days.kwh.sum() == pytest.approx(kwh.sum(), rel=1e-9)
    assert days.interpolated_kwh.sum() == pytest.approx(kwh[flags == GAP].sum(), rel=1e-9)
