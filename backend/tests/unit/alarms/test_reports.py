"""Alarm reports: the ISA-18.2 flood threshold (more than 10 in 10 minutes, per site), the most frequent
alarms, chattering (3+ activations within 60 s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dtwin.alarms import reports

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_more_than_ten_alarms_in_ten_minutes_is_a_flood_per_site() -> None:
    raised = [(at(10 * k), "a") for k in range(11)] + [(at(10 * k), "b") for k in range(10)]
    report = reports.flood(raised, T0, at(3600))
    windows = {(w["site"], w["alarms"], w["flood"]) for w in report["windows"]}  # type: ignore[attr-defined]
    assert windows == {("a", 11, True), ("b", 10, False)}
    assert report["flood_windows"] == 1
    assert report["percent_time_in_flood"] == round(100 / 12, 2)  # 1 of 6 windows x 2 sites


def test_frequent_and_chattering() -> None:
    raised = [(at(k * 20), "m1", "hi:x") for k in range(5)] + [(at(k * 100), "m2", "lo:y") for k in range(6)]
    top = reports.frequent([(m, c) for _, m, c in raised])
    assert top[0] == {"machine_id": "m2", "condition": "lo:y", "count": 6}
    chatter = reports.chattering(raised)
    assert chatter == [{"machine_id": "m1", "condition": "hi:x", "activations": 5, "max_in_60s": 3}]
    assert reports.max_in_window([], 60) == 0


def test_flood_windows_sit_on_the_clocks_ten_minute_boundaries() -> None:
    report = reports.flood([(at(700), "a"), (at(1300), "a")], at(123), at(1500))
    starts = [w["start"] for w in report["windows"]]  # type: ignore[attr-defined]
    assert starts == [at(600), at(1200)]
