"""Report periods are calendar periods in the plant's time zone (a DST day is 23 or 25 hours) and cron
schedules fire at local wall-clock times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dtwin.reports.periods import check_cron, next_fire, period_bounds, previous_fire
from dtwin.reports.schemas import ReportDefinitionIn

BERLIN = "Europe/Berlin"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("expr", ["0 6 * * *", "*/15 * * * 1-5", "0 7 1 * *", "  0   6 * * mon "])
def test_valid_cron_is_normalised(expr: str) -> None:
    assert check_cron(expr) == " ".join(expr.split())


@pytest.mark.parametrize("expr", ["", "0 6 * *", "0 6 * * * *", "61 6 * * *", "0 25 * * *", "x y z a b"])
def test_invalid_cron_is_refused(expr: str) -> None:
    with pytest.raises(ValueError, match="cron expression"):
        check_cron(expr)


def test_invalid_cron_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        ReportDefinitionIn.model_validate({"name": "r", "kind": "maintenance", "schedule": "0 99 * * *"})
    assert info.value.errors()[0]["loc"] == ("schedule",)


def test_last_day_across_the_spring_dst_change_is_23_hours() -> None:
    start, end = period_bounds("last_day", at(2026, 3, 30, 5), BERLIN)  # 07:00 CEST on Monday 30 March
    assert (start, end) == (at(2026, 3, 28, 23), at(2026, 3, 29, 22))  # Sunday 29 March, local midnights
    assert end - start == timedelta(hours=23)


def test_last_day_across_the_autumn_dst_change_is_25_hours() -> None:
    start, end = period_bounds("last_day", at(2026, 10, 26, 6), BERLIN)
    assert (start, end) == (at(2026, 10, 24, 22), at(2026, 10, 25, 23))
    assert end - start == timedelta(hours=25)


def test_last_week_is_the_previous_iso_week_in_local_time() -> None:
    start, end = period_bounds("last_week", at(2026, 3, 30, 5), BERLIN)
    assert (start, end) == (at(2026, 3, 22, 23), at(2026, 3, 29, 22))  # Mon 23 Mar 00:00 CET .. Mon 30 CEST
    assert end - start == timedelta(days=7, hours=-1)


def test_last_month_is_the_previous_calendar_month() -> None:
    assert period_bounds("last_month", at(2026, 1, 3, 5), BERLIN) == (
        at(2025, 11, 30, 23),
        at(2025, 12, 31, 23),
    )
    assert period_bounds("last_month", at(2026, 3, 1, 0), "UTC") == (at(2026, 2, 1), at(2026, 3, 1))
    # just after local midnight on 1 April (still 31 March in UTC): the month before is March
    assert period_bounds("last_month", at(2026, 3, 31, 22, 30), BERLIN) == (
        at(2026, 2, 28, 23),
        at(2026, 3, 31, 22),
    )


def test_cron_fires_at_local_wall_clock_time_summer_and_winter() -> None:
    assert next_fire("0 6 * * *", at(2026, 3, 28, 12), BERLIN) == at(2026, 3, 29, 4)  # 06:00 CEST
    assert next_fire("0 6 * * *", at(2026, 3, 27, 12), BERLIN) == at(2026, 3, 28, 5)  # 06:00 CET
    assert previous_fire("0 6 * * *", at(2026, 3, 30, 4), BERLIN) == at(2026, 3, 30, 4)  # now itself counts
    assert previous_fire("0 6 * * *", at(2026, 3, 30, 3, 59), BERLIN) == at(2026, 3, 29, 4)
