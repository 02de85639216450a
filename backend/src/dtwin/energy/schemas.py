"""API schemas of the energy room: tariffs (strict input models, validated down to the band) and the
consumption, cost, peak-demand and heatmap answers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dtwin.contracts.inputs import Text
from dtwin.contracts.limits import PLACEMENT_PATTERN
from dtwin.energy.tariffs import WEEKDAYS, Band, Season, Version, band_problems, season_problems
from dtwin.energy.tariffs import version_problems as _version_problems

Price = Annotated[
    float, Field(strict=True, ge=0, le=1_000_000, allow_inf_nan=False, description="Price per kWh")
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DaySet = Literal["all", "weekday", "weekend"]
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
MONTH_DAY_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
Clock = Annotated[str, Field(pattern=TIME_PATTERN, description="Wall-clock time HH:MM (24:00: end of day)")]
MonthDay = Annotated[str, Field(pattern=MONTH_DAY_PATTERN, description="Calendar date MM-DD")]
DAY_SETS: dict[str, frozenset[int]] = {
    "all": frozenset(range(7)),
    "weekday": frozenset(range(5)),
    "weekend": frozenset({5, 6}),
}
MAX_BANDS = 64
MAX_SEASONS = 12
MAX_VERSIONS = 100
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _minutes(clock: str) -> int:
    h, m = clock.split(":")
    return int(h) * 60 + int(m)


def _month_day(text: str) -> tuple[int, int]:
    m, d = (int(p) for p in text.split("-"))
    return m, d


class BandIn(BaseModel):
    """A price for the wall-clock times [start, end) of some days of the week (plant time zone). `end`
    before `start` wraps past midnight on the same days (22:00-06:00 = 22:00-24:00 and 00:00-06:00)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    days: DaySet | Annotated[list[Weekday], Field(min_length=1, max_length=7)] = Field(
        description="`all`, `weekday` (Mon-Fri), `weekend` (Sat, Sun), or a list of mon..sun"
    )
    start: Clock
    end: Clock
    price: Price
    name: Annotated[Text, Field(max_length=64)] | None = Field(
        default=None, description="e.g. peak, off-peak"
    )

    @field_validator("start")
    @classmethod
    def _start_not_24(cls, v: str) -> str:
        if v == "24:00":
            raise ValueError("a band cannot start at 24:00")
        return v

    @field_validator("days")
    @classmethod
    def _distinct(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list) and len(set(v)) != len(v):
            raise ValueError("a day is listed twice")
        return v

    def to_band(self) -> Band:
        days = (
            DAY_SETS[self.days]
            if isinstance(self.days, str)
            else frozenset(WEEKDAYS.index(d) for d in self.days)
        )
        return Band(days, _minutes(self.start), _minutes(self.end) if self.end != "00:00" else 0, self.price)


class SeasonIn(BaseModel):
    """Calendar dates `from`..`to` inclusive (MM-DD, every year; `to` before `from` wraps the new year) and
    the bands that price every minute of every day of the week in them exactly once."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    name: Annotated[Text, Field(min_length=1, max_length=64)]
    from_: MonthDay = Field(alias="from")
    to: MonthDay
    bands: Annotated[list[BandIn], Field(min_length=1, max_length=MAX_BANDS)]

    @field_validator("from_", "to")
    @classmethod
    def _real_date(cls, v: str) -> str:
        m, d = _month_day(v)
        if d > _DAYS_IN_MONTH[m - 1]:
            raise ValueError(f"{v} is not a calendar date")
        return v

    @field_validator("bands")
    @classmethod
    def _coverage(cls, v: list[BandIn]) -> list[BandIn]:
        problems = band_problems([b.to_band() for b in v])
        if problems:
            raise ValueError("; ".join(f"band {i}: {msg}" if i is not None else msg for i, msg in problems))
        return v

    def to_season(self) -> Season:
        return Season(_month_day(self.from_), _month_day(self.to), tuple(b.to_band() for b in self.bands))


class TariffVersionIn(BaseModel):
    """One version: valid on local dates [valid_from, valid_to) in the plant's zone (`valid_to` null:
    open-ended); `flat` with `price_per_kwh`, or `tou` with `seasons` covering every date of the year."""

    model_config = ConfigDict(extra="forbid", strict=False)

    valid_from: date
    valid_to: date | None = None
    kind: Literal["flat", "tou"]
    price_per_kwh: Price | None = None
    seasons: Annotated[list[SeasonIn], Field(max_length=MAX_SEASONS)] | None = None

    @field_validator("valid_from", "valid_to", mode="before")
    @classmethod
    def _iso_date(cls, v: object) -> object:
        if v is not None and not (isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)):
            raise ValueError("a date YYYY-MM-DD")
        return v

    @field_validator("seasons")
    @classmethod
    def _seasons_cover_the_year(cls, v: list[SeasonIn] | None) -> list[SeasonIn] | None:
        if v:
            problems = season_problems([s.to_season() for s in v])
            if problems:
                i, msg = problems[0]
                raise ValueError(f"season {i}: {msg}" if i is not None else msg)
        return v

    @model_validator(mode="after")
    def _kind(self) -> TariffVersionIn:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.kind == "flat" and (self.price_per_kwh is None or self.seasons is not None):
            raise ValueError("a flat version has price_per_kwh and no seasons")
        if self.kind == "tou" and (not self.seasons or self.price_per_kwh is not None):
            raise ValueError("a time-of-use version has seasons and no price_per_kwh")
        return self

    def to_version(self) -> Version:
        return Version(
            self.valid_from,
            self.valid_to,
            self.price_per_kwh,
            tuple(s.to_season() for s in self.seasons or ()),
        )


def version_problems(versions: list[TariffVersionIn]) -> list[str]:
    return [
        f"version {i}: {msg}" if i is not None else msg
        for i, msg in _version_problems([v.to_version() for v in versions])
    ]


class TariffIn(BaseModel):
    """A tariff for one site (`site`) or the fleet default (`site` null: sites without their own), with its
    versions (no two valid on the same date) and its currency (ISO 4217)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[Text, Field(min_length=1, max_length=128)]
    site: Annotated[str, Field(pattern=PLACEMENT_PATTERN)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")]
    versions: Annotated[list[TariffVersionIn], Field(min_length=1, max_length=MAX_VERSIONS)]

    @field_validator("versions")
    @classmethod
    def _no_overlap(cls, v: list[TariffVersionIn]) -> list[TariffVersionIn]:
        problems = version_problems(v)
        if problems:
            raise ValueError("; ".join(problems))
        return v


class BandRead(BaseModel):
    days: DaySet | list[Weekday]
    start: str
    end: str
    price: float
    name: str | None = None


class SeasonRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    from_: str = Field(alias="from")
    to: str
    bands: list[BandRead]


class TariffVersionRead(BaseModel):
    valid_from: date
    valid_to: date | None
    kind: Literal["flat", "tou"]
    price_per_kwh: float | None = None
    seasons: list[SeasonRead] | None = None


class TariffRead(BaseModel):
    """A stored tariff; `version` grows with every change and is the `ETag`."""

    id: int
    name: str
    site: str | None
    currency: str
    versions: list[TariffVersionRead]
    version: int
    updated_at: datetime


class TariffList(BaseModel):
    items: list[TariffRead]


# ------------------------------------------------------------------------------------------ answers
Scope = Literal["meter", "line", "site"]
BucketName = Literal["hour", "day", "week", "month"]


class CounterFlags(BaseModel):
    """What the counter did in a bucket: resets (to zero), rollovers (past the register's maximum),
    replacements (a new meter), and intervals whose energy was interpolated across missing data."""

    resets: int = 0
    rollovers: int = 0
    replacements: int = 0
    interpolated: int = 0


class ConsumptionBucket(BaseModel):
    start: datetime
    end: datetime
    kwh: float | None = Field(description="null: no readings in the bucket")
    cost: float | None = Field(description="null: no tariff version priced (part of) the bucket")
    flags: CounterFlags


class ConsumptionRead(BaseModel):
    """Consumption (kWh) and cost per calendar bucket in the plant's zone (`tz`), for a meter, a line or a
    site. `empty` with a `note` when the scope has no meters or the window no readings."""

    scope: Scope
    id: str
    bucket: BucketName
    start: datetime
    end: datetime
    tz: str
    currency: str | None
    tariff_id: int | None
    meters: list[str]
    total_kwh: float
    total_cost: float | None
    flags: CounterFlags
    empty: bool
    note: str | None = None
    source: str = Field(description="Where the counter values came from (hourly rollups or raw readings)")
    items: list[ConsumptionBucket]


class MonthPeak(BaseModel):
    month: str = Field(description="YYYY-MM in the plant's zone")
    start: datetime
    end: datetime
    peak_kw: float | None = Field(description="Highest 15-minute average demand of the site; null: no data")
    at: datetime | None = Field(description="Start of that 15-minute interval")
    intervals: int = Field(description="15-minute intervals with data")


class PeakList(BaseModel):
    """Peak demand per month: the highest average kW over a clock quarter-hour (energy_kwh deltas of the
    site's meters summed per 15 minutes, x 4)."""

    site: str
    tz: str
    meters: list[str]
    empty: bool
    note: str | None = None
    method: str
    items: list[MonthPeak]


class Heatmap(BaseModel):
    """kWh per weekday (rows, Monday first) x local hour of day (columns 0..23) in [start, end)."""

    site: str
    start: datetime
    end: datetime
    tz: str
    meters: list[str]
    weekdays: list[str]
    kwh: list[list[float]]
    hours: list[list[int]] = Field(description="Hours with data behind each cell (a mean is kwh / hours)")
    total_kwh: float
    empty: bool
    note: str | None = None
