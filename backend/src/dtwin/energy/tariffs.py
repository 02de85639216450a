"""The tariff cost engine: pure (no I/O), unit-tested against hand-computed cases.

A tariff is a list of versions, each valid for a range of local dates `[valid_from, valid_to)` in the
plant's time zone. A version is flat (one price per kWh) or time-of-use: seasons (ranges of calendar dates,
e.g. 04-01..09-30, a range may wrap the new year) each holding bands (days of the week, a range of wall-clock
time, a price) that price every minute of every day of the week exactly once.

Cost of an interval (UTC instants, kWh): the kWh are spread evenly over the interval's real elapsed time and
every piece is priced by the band its *wall-clock* time falls in, in the plant's zone. DST is handled by
cutting each local day into spans of constant UTC offset: on the spring-forward day the missing wall hour
is priced by no band (it never happens), on the fall-back day the repeated wall hour is priced twice (it
happens twice). A piece no version covers has no price: the interval's cost is NaN (`unpriced`)."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

DAY_MINUTES = 1440
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LEAP_YEAR = 2024  # a year with 29 February: seasons must cover every day of it

Segment = tuple[int, int, float]  # (start minute, end minute, price) of a wall-clock day


def minute_text(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@dataclass(frozen=True, slots=True)
class Band:
    """A price for the wall-clock minutes [start, end) of the given weekdays (0 = Monday). `end` may be
    1440 (24:00); `end < start` wraps past midnight *within the same day type*: 22:00-06:00 prices
    22:00-24:00 and 00:00-06:00 of each listed day."""

    days: frozenset[int]
    start: int
    end: int
    price: float

    def spans(self) -> list[tuple[int, int]]:
        if self.end > self.start:
            return [(self.start, self.end)]
        return [(self.start, DAY_MINUTES)] + ([(0, self.end)] if self.end > 0 else [])


@dataclass(frozen=True, slots=True)
class Season:
    """Calendar dates from `start` to `end` inclusive, as (month, day); wraps the new year if end < start."""

    start: tuple[int, int]
    end: tuple[int, int]
    bands: tuple[Band, ...]

    def contains(self, d: date) -> bool:
        md = (d.month, d.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a tariff: flat (`price`) or time-of-use (`seasons`), valid on local dates
    [valid_from, valid_to) (`valid_to` None: open-ended)."""

    valid_from: date
    valid_to: date | None
    price: float | None = None
    seasons: tuple[Season, ...] = field(default=())

    def covers(self, d: date) -> bool:
        return self.valid_from <= d and (self.valid_to is None or d < self.valid_to)

    def day_segments(self, d: date) -> list[Segment]:
        """The wall-clock day's prices, in order, covering [0, 1440)."""
        if not self.seasons:
            assert self.price is not None
            return [(0, DAY_MINUTES, self.price)]
        season = next((s for s in self.seasons if s.contains(d)), None)
        if season is None:  # validation forbids it; an unpriced day rather than a crash
            return []
        wd = d.weekday()
        spans = sorted(
            (a, b, band.price) for band in season.bands if wd in band.days for a, b in band.spans()
        )
        return spans


# ------------------------------------------------------------------------------------------ validation
def band_problems(bands: Sequence[Band]) -> list[tuple[int | None, str]]:
    """Overlaps (with the index of the later band) and uncovered times (index None) of one season's bands:
    every minute of every weekday must be priced exactly once."""
    owner = np.full((7, DAY_MINUTES), -1, dtype=np.int64)
    problems: list[tuple[int | None, str]] = []
    for i, band in enumerate(bands):
        if band.start == band.end:
            problems.append((i, "a band must not be empty (start equals end)"))
            continue
        for d in sorted(band.days):
            for a, b in band.spans():
                taken = owner[d, a:b]
                clash = np.flatnonzero(taken >= 0)
                if clash.size:
                    m = a + int(clash[0])
                    problems.append(
                        (i, f"overlaps band {int(taken[clash[0]])} on {WEEKDAYS[d]} at {minute_text(m)}")
                    )
                    break
                owner[d, a:b] = i
            else:
                continue
            break
    if problems:
        return problems
    for d in range(7):
        free = np.flatnonzero(owner[d] < 0)
        if free.size:
            a = int(free[0])
            rest = np.flatnonzero(owner[d, a:] >= 0)
            b = a + int(rest[0]) if rest.size else DAY_MINUTES
            problems.append((None, f"{WEEKDAYS[d]} {minute_text(a)}-{minute_text(b)} has no price"))
    return problems


def season_problems(seasons: Sequence[Season]) -> list[tuple[int | None, str]]:
    """Every calendar day (29 February included) must be in exactly one season."""
    day = date(LEAP_YEAR, 1, 1)
    while day.year == LEAP_YEAR:
        holders = [i for i, s in enumerate(seasons) if s.contains(day)]
        if len(holders) > 1:
            return [(holders[1], f"overlaps season {holders[0]} on {day:%m-%d}")]
        if not holders:
            return [(None, f"{day:%m-%d} is in no season")]
        day += timedelta(days=1)
    return []


def version_problems(versions: Sequence[Version]) -> list[tuple[int | None, str]]:
    """Versions (in any order) must not overlap; valid_to must be after valid_from."""
    problems: list[tuple[int | None, str]] = []
    for i, v in enumerate(versions):
        if v.valid_to is not None and v.valid_to <= v.valid_from:
            problems.append((i, "valid_to must be after valid_from"))
    if problems:
        return problems
    order = sorted(range(len(versions)), key=lambda i: versions[i].valid_from)
    for prev, cur in itertools.pairwise(order):
        end = versions[prev].valid_to
        if end is None or end > versions[cur].valid_from:
            problems.append((cur, f"overlaps version {prev} (valid from {versions[prev].valid_from})"))
    return problems


# ------------------------------------------------------------------------------------------ cost engine
@lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local_midnight(d: date, tz: str) -> float:
    """Epoch seconds of the local day's start (the first instant of that date, as the rollups take it)."""
    return datetime(d.year, d.month, d.day, tzinfo=_zone(tz)).timestamp()


def _offset(ts: float, tz: str) -> int:
    off = datetime.fromtimestamp(ts, _zone(tz)).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def offset_pieces(lo: float, hi: float, tz: str) -> list[tuple[float, float, int]]:
    """[lo, hi) (a local day) cut into spans of constant UTC offset: (start, end, offset seconds). Zones
    change their offset at most once a day; the change is found to the second by bisection."""
    first, last = _offset(lo, tz), _offset(hi - 1, tz)
    if first == last:
        return [(lo, hi, first)]
    a, b = int(lo), int(hi - 1)  # offset(a) == first, offset(b) == last
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(mid, tz) == first:
            a = mid
        else:
            b = mid
    return [(lo, float(b), first), (float(b), hi, last)]


class CostEngine:
    """Prices UTC intervals with one tariff's versions in the plant's zone (day price tables cached)."""

    def __init__(self, versions: Sequence[Version], tz: str) -> None:
        self.versions = sorted(versions, key=lambda v: v.valid_from)
        self.tz = tz
        self._days: dict[date, tuple[list[float], list[tuple[float, float, float]]]] = {}

    def version_on(self, d: date) -> Version | None:
        return next((v for v in self.versions if v.covers(d)), None)

    def day(self, d: date) -> tuple[list[float], list[tuple[float, float, float]]]:
        """The local day's price pieces in UTC epoch seconds: (starts, [(start, end, price)]) in order;
        price NaN where no version applies."""
        got = self._days.get(d)
        if got is not None:
            return got
        lo, hi = local_midnight(d, self.tz), local_midnight(d + timedelta(days=1), self.tz)
        version = self.version_on(d)
        wall = version.day_segments(d) if version is not None else []
        if not wall:
            wall = [(0, DAY_MINUTES, float("nan"))]
        naive = datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()  # the wall midnight read as UTC
        out: list[tuple[float, float, float]] = []
        for plo, phi, off in offset_pieces(lo, hi, self.tz):
            for a, b, price in wall:
                s = max(plo, naive + a * 60 - off)
                e = min(phi, naive + b * 60 - off)
                if e > s:
                    out.append((s, e, price))
        out.sort()
        got = ([p[0] for p in out], out)
        self._days[d] = got
        return got

    def price_at(self, ts: datetime) -> float:
        """The price in force at an instant (NaN: no version)."""
        t = ts.timestamp()
        starts, pieces = self.day(ts.astimezone(_zone(self.tz)).date())
        i = bisect.bisect_right(starts, t) - 1
        return pieces[i][2] if i >= 0 and pieces[i][0] <= t < pieces[i][1] else float("nan")

    def mean_price(self, start: datetime, end: datetime) -> float:
        """The time-weighted mean price over [start, end) (the price at `start` for an empty interval)."""
        s, e = start.timestamp(), end.timestamp()
        if e <= s:
            return self.price_at(start)
        zone = _zone(self.tz)
        d = start.astimezone(zone).date()
        last = datetime.fromtimestamp(e - 1e-6, zone).date()
        weighted = 0.0
        while d <= last:
            starts, pieces = self.day(d)
            i = max(bisect.bisect_right(starts, s) - 1, 0)
            while i < len(pieces) and pieces[i][0] < e:
                lo, hi, price = pieces[i]
                overlap = min(hi, e) - max(lo, s)
                if overlap > 0:
                    weighted += overlap * price
                i += 1
            d += timedelta(days=1)
        return weighted / (e - s)

    def costs(
        self, starts: Sequence[datetime], ends: Sequence[datetime], kwh: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Cost of each interval: kWh spread evenly over it, each piece at its wall-clock band's price
        (NaN where any part of it is unpriced)."""
        energy = np.asarray(kwh, dtype=np.float64)
        if not (len(starts) == len(ends) == energy.size):
            raise ValueError("starts, ends and kwh must have the same length")
        out = np.zeros(energy.size, dtype=np.float64)
        for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
            if energy[i] != 0.0:
                out[i] = energy[i] * self.mean_price(s, e)
        return out


def interval_costs(
    starts: Sequence[datetime],
    ends: Sequence[datetime],
    kwh: npt.ArrayLike,
    versions: Sequence[Version],
    tz: str,
) -> npt.NDArray[np.float64]:
    """Cost per interval (UTC instants) under a tariff's versions in zone `tz`; NaN where unpriced."""
    return CostEngine(versions, tz).costs(starts, ends, kwh)
