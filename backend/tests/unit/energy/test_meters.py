"""A meter's hourly buckets to energy per hour: resets inside and between buckets, gaps interpolated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dtwin.energy.meters import bucket_energy
from dtwin.readings.rollups import Agg

T0 = datetime(2026, 3, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


def hour(i: int, first: float, last: float, lo: float | None = None, hi: float | None = None) -> Agg:
    lo = min(first, last) if lo is None else lo
    hi = max(first, last) if hi is None else hi
    return Agg(T0 + i * H, "energy_kwh", lo, hi, 0.0, 60, first, last)


def test_steady_counter_gives_each_hour_its_rise() -> None:
    # one reading a minute, 1 kWh a minute: first = 60 i, last = 60 i + 59
    rows = [hour(i, 60 * i, 60 * i + 59) for i in range(4)]
    got = bucket_energy(rows, 3600, T0 + H)
    assert [got.kwh[T0 + i * H] for i in (1, 2, 3)] == pytest.approx([60, 60, 59.5])
    assert not got.flags


def test_a_reset_inside_an_hour_is_read_from_max_and_min() -> None:
    # hour 1: 60..89 then reset, 1..30 (first 60, max 89, min 1, last 30)
    rows = [hour(0, 0, 59), hour(1, 60, 30, lo=1, hi=89), hour(2, 31, 90)]
    got = bucket_energy(rows, 3600, T0 + H)
    assert got.kwh[T0 + H] == pytest.approx(60)  # 0.5 + 29 + 1 + 29 + 0.5
    assert got.flags[T0 + H]["resets"] == 1


def test_a_rollover_between_hours() -> None:
    top = 999_999.9
    rows = [
        hour(0, top - 80, top - 21),
        hour(1, top - 20 + 1 - 0.9 - 0.1 + 0.0, top - 0.9),
        hour(2, 0.1, 59.1),
    ]
    got = bucket_energy(rows, 3600, T0 + H)
    assert got.flags[T0 + 2 * H]["rollovers"] == 1
    assert got.kwh[T0 + 2 * H] == pytest.approx(0.5 + 59, abs=0.01)


def test_missing_hours_are_interpolated_and_flagged() -> None:
    rows = [hour(0, 0, 59), hour(3, 180, 239)]  # hours 1 and 2 missing: 121 kWh between 59 and 180
    got = bucket_energy(rows, 3600, T0)
    assert got.flags[T0 + H]["interpolated"] == 1 and got.flags[T0 + 2 * H]["interpolated"] == 1
    assert sum(got.kwh.values()) == pytest.approx(239)
    assert got.kwh[T0 + H] == pytest.approx(got.kwh[T0 + 2 * H])


def test_a_replacement_counts_nothing_for_the_jump() -> None:
    rows = [hour(0, 5000, 5059), hour(1, 3000, 3059)]  # a new meter reading 3000
    got = bucket_energy(rows, 3600, T0)
    assert got.flags[T0 + H]["replacements"] == 1
    assert got.kwh[T0 + H] == pytest.approx(59)


def test_a_meter_read_less_often_than_half_a_bucket_gets_each_quarter_hour_right() -> None:
    # a reading every 10 minutes at a steady 60 kW (10 kWh per reading): quarter-hours hold 2, 1, 2, 1
    # readings; each still gets 15 minutes of energy (a per-bucket interval estimate gave 20 and 10)
    q = timedelta(minutes=15)
    readings = [(T0 + timedelta(minutes=10 * k), 10.0 * k) for k in range(13)]  # 00:00 .. 02:00
    rows = []
    for i in range(8):
        inside = [v for t, v in readings if T0 + i * q <= t < T0 + (i + 1) * q]
        rows.append(
            Agg(
                T0 + i * q,
                "energy_kwh",
                min(inside),
                max(inside),
                sum(inside),
                len(inside),
                inside[0],
                inside[-1],
            )
        )
    got = bucket_energy(rows, 900, T0 + q)
    inner = [got.kwh[T0 + i * q] for i in range(1, 7)]
    assert inner == pytest.approx([15.0] * 6, abs=0.01)
    assert max(inner) * 4 == pytest.approx(60.0, abs=0.05)  # the peak demand: 60 kW, not 80
