"""Calendar arithmetic of reports, pure: a report's period (the last full day, ISO week or calendar month
in the plant's time zone, so a day across a DST change is 23 or 25 hours) and its cron schedule (croniter,
evaluated in the plant's zone: `0 6 * * 1` is 06:00 local every Monday, summer and winter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter

Period = Literal["last_day", "last_week", "last_month"]
PERIODS: tuple[Period, ...] = ("last_day", "last_week", "last_month")


def check_cron(expr: str) -> str:
    """The expression, normalised (single spaces), if it is a standard five-field cron expression;
    ValueError saying why otherwise."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron expression has five fields (minute hour day-of-month month day-of-week), "
            f"not {len(fields)}"
        )
    normal = " ".join(fields)
    if not croniter.is_valid(normal):
        raise ValueError(f"{normal!r} is not a valid cron expression")
    return normal


def _midnight(t: datetime) -> datetime:
    """Local midnight of `t`'s day (t aware in the plant zone), resolved again in the zone (a fold-free
    wall time: midnight is never inside a DST gap in the zones we know; if it were, zoneinfo moves it)."""
    return datetime(t.year, t.month, t.day, tzinfo=t.tzinfo)


def period_bounds(period: Period, at: datetime, tz: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the full calendar `period` before `at` in the zone `tz`: the previous day,
    the previous ISO week (Monday to Monday) or the previous calendar month."""
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    today = _midnight(local)
    if period == "last_day":
        start_date = (today - timedelta(days=1)).date()
        end_date = today.date()
    elif period == "last_week":
        monday = today.date() - timedelta(days=today.weekday())
        start_date, end_date = monday - timedelta(days=7), monday
    else:
        first = today.date().replace(day=1)
        start_date, end_date = (first - timedelta(days=1)).replace(day=1), first
    start = datetime(start_date.year, start_date.month, start_date.day, tzinfo=zone)
    end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_fire(expr: str, now: datetime, tz: str) -> datetime:
    """The latest time at or before `now` the schedule fires, in UTC (cron read in the zone `tz`)."""
    local = now.astimezone(ZoneInfo(tz))
    # croniter's get_prev is strictly before its start: start a second later so `now` itself counts
    it = croniter(expr, local + timedelta(seconds=1))
    prev: datetime = it.get_prev(datetime)
    return prev.astimezone(UTC)


def next_fire(expr: str, now: datetime, tz: str) -> datetime:
    """The first time after `now` the schedule fires, in UTC."""
    it = croniter(expr, now.astimezone(ZoneInfo(tz)))
    nxt: datetime = it.get_next(datetime)
    return nxt.astimezone(UTC)
