"""The cost engine against hand-computed cases (DST days in Europe/Berlin included) and tariff validation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from dtwin.energy.schemas import TariffIn
from dtwin.energy.tariffs import Band, CostEngine, Season, Version, interval_costs

BERLIN = "Europe/Berlin"
ALL = frozenset(range(7))


def u(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def night_day(night: float = 0.10, day: float = 0.30) -> Version:
    """22:00-06:00 at `night`, 06:00-22:00 at `day`, every day."""
    bands = (Band(ALL, 22 * 60, 6 * 60, night), Band(ALL, 6 * 60, 22 * 60, day))
    return Version(date(2026, 1, 1), None, seasons=(Season((1, 1), (12, 31), bands),))


def test_flat_price_is_kwh_times_price() -> None:
    got = interval_costs(
        [u(2026, 5, 1, 0)], [u(2026, 5, 1, 1)], [10.0], [Version(date(2026, 1, 1), None, 0.25)], BERLIN
    )
    assert got.tolist() == [2.5]


def test_spring_forward_day_has_23_hours_7_of_them_night() -> None:
    # local 2026-03-29 = 2026-03-28T23:00Z .. 2026-03-29T22:00Z (23 h); night 00-02 CET + 03-06 CEST + 22-24 = 7 h
    # 23 kWh evenly: 7 kWh x 0.10 + 16 kWh x 0.30 = 0.7 + 4.8
    got = interval_costs([u(2026, 3, 28, 23)], [u(2026, 3, 29, 22)], [23.0], [night_day()], BERLIN)
    assert got[0] == pytest.approx(5.5)


def test_fall_back_day_has_25_hours_9_of_them_night() -> None:
    # local 2026-10-25 = 2026-10-24T22:00Z .. 2026-10-25T23:00Z (25 h); night 00-06 (7 h: 02-03 twice) + 22-24
    got = interval_costs([u(2026, 10, 24, 22)], [u(2026, 10, 25, 23)], [25.0], [night_day()], BERLIN)
    assert got[0] == pytest.approx(0.9 + 4.8)


def test_band_boundary_inside_the_missing_and_the_repeated_hour() -> None:
    early_late = Version(
        date(2026, 1, 1),
        None,
        seasons=(Season((1, 1), (12, 31), (Band(ALL, 0, 150, 1.0), Band(ALL, 150, 1440, 3.0))),),
    )
    engine = CostEngine([early_late], BERLIN)
    # 00:30Z-01:30Z on 03-29 = 01:30-02:00 CET (1.0) then 03:00-03:30 CEST (3.0): half and half
    # 00:00Z-02:00Z on 10-25 = 02:00-03:00 CEST then 02:00-03:00 CET: 02:30 splits each hour in two
    got = engine.costs(
        [u(2026, 3, 29, 0, 30), u(2026, 10, 25, 0)], [u(2026, 3, 29, 1, 30), u(2026, 10, 25, 2)], [1.0, 2.0]
    )
    assert got.tolist() == pytest.approx([2.0, 4.0])


def test_interval_split_pro_rata_at_a_band_boundary() -> None:
    # 05:30-06:30 CEST on a summer day: half at night price, half at day price
    got = interval_costs([u(2026, 6, 1, 3, 30)], [u(2026, 6, 1, 4, 30)], [2.0], [night_day()], BERLIN)
    assert got[0] == pytest.approx(1.0 * 0.10 + 1.0 * 0.30)


def test_weekend_season_and_version_change() -> None:
    weekday, weekend = frozenset(range(5)), frozenset({5, 6})
    summer = Season((4, 1), (9, 30), (Band(weekday, 0, 1440, 0.2), Band(weekend, 0, 1440, 0.1)))
    winter = Season((10, 1), (3, 31), (Band(ALL, 0, 1440, 0.4),))
    v1 = Version(date(2026, 1, 1), date(2026, 7, 1), seasons=(summer, winter))
    v2 = Version(date(2026, 7, 1), None, 0.5)
    engine = CostEngine([v1, v2], BERLIN)
    starts = [u(2026, 6, 5, 10), u(2026, 6, 6, 10), u(2026, 2, 2, 10), u(2026, 7, 1, 10), u(2025, 6, 1, 10)]
    ends = [s.replace(hour=11) for s in starts]
    got = engine.costs(starts, ends, np.ones(5))
    assert got[:4].tolist() == pytest.approx([0.2, 0.1, 0.4, 0.5])  # Fri summer, Sat summer, winter, v2
    assert np.isnan(got[4])  # no version valid in 2025: unpriced


def test_version_boundary_is_local_midnight() -> None:
    v1 = Version(date(2026, 1, 1), date(2026, 7, 1), 1.0)
    v2 = Version(date(2026, 7, 1), None, 2.0)
    # 2026-06-30T21:00Z..23:00Z = 23:00 CEST on 06-30 to 01:00 CEST on 07-01: 1 h each
    got = interval_costs([u(2026, 6, 30, 21)], [u(2026, 6, 30, 23)], [2.0], [v1, v2], BERLIN)
    assert got[0] == pytest.approx(3.0)


def tou(bands: list[dict[str, Any]], **version: Any) -> dict[str, Any]:
    return {
        "name": "tou",
        "site": "plant-a",
        "currency": "EUR",
        "versions": [
            {
                "valid_from": "2026-01-01",
                "kind": "tou",
                "seasons": [{"name": "year", "from": "01-01", "to": "12-31", "bands": bands}],
                **version,
            }
        ],
    }


def error_of(body: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as exc:
        TariffIn.model_validate(body)
    err = exc.value.errors()[0]
    return ".".join(str(p) for p in err["loc"]), err["msg"]


def test_a_valid_time_of_use_tariff_passes() -> None:
    body = tou(
        [
            {"days": "weekday", "start": "06:00", "end": "22:00", "price": 0.3},
            {"days": "weekday", "start": "22:00", "end": "06:00", "price": 0.1},
            {"days": ["sat", "sun"], "start": "00:00", "end": "24:00", "price": 0.1},
        ]
    )
    assert TariffIn.model_validate(body).versions[0].kind == "tou"


def test_overlapping_bands_name_the_band_and_time() -> None:
    loc, msg = error_of(
        tou(
            [
                {"days": "all", "start": "00:00", "end": "12:00", "price": 0.1},
                {"days": "weekday", "start": "11:00", "end": "24:00", "price": 0.2},
            ]
        )
    )
    assert loc == "versions.0.seasons.0.bands"
    assert "band 1: overlaps band 0 on mon at 11:00" in msg


def test_a_gap_in_a_day_is_rejected() -> None:
    loc, msg = error_of(tou([{"days": "weekday", "start": "00:00", "end": "24:00", "price": 0.1}]))
    assert loc == "versions.0.seasons.0.bands"
    assert "sat 00:00-24:00 has no price" in msg


@pytest.mark.parametrize(
    ("band", "field"),
    [
        ({"days": "all", "start": "25:00", "end": "24:00", "price": 0.1}, "start"),
        ({"days": "all", "start": "24:00", "end": "24:00", "price": 0.1}, "start"),
        ({"days": "all", "start": "00:00", "end": "7am", "price": 0.1}, "end"),
        ({"days": "all", "start": "00:00", "end": "24:00", "price": -1.0}, "price"),
        ({"days": "all", "start": "00:00", "end": "24:00", "price": "0.1"}, "price"),
        ({"days": ["mon", "mon"], "start": "00:00", "end": "24:00", "price": 0.1}, "days"),
    ],
)
def test_bad_band_fields_are_named(band: dict[str, Any], field: str) -> None:
    loc, _ = error_of(tou([band]))
    assert loc.startswith(f"versions.0.seasons.0.bands.0.{field}"), loc


def test_overlapping_versions_and_seasons_are_rejected() -> None:
    flat = {
        "name": "f",
        "currency": "EUR",
        "versions": [
            {"valid_from": "2026-01-01", "valid_to": "2026-07-01", "kind": "flat", "price_per_kwh": 0.2},
            {"valid_from": "2026-06-01", "kind": "flat", "price_per_kwh": 0.3},
        ],
    }
    loc, msg = error_of(flat)
    assert loc == "versions" and "version 1: overlaps version 0" in msg
    full = [{"days": "all", "start": "00:00", "end": "24:00", "price": 0.1}]
    body = tou(full)
    body["versions"][0]["seasons"] = [
        {"name": "summer", "from": "04-01", "to": "09-30", "bands": full},
        {"name": "winter", "from": "09-30", "to": "03-31", "bands": full},
    ]
    loc, msg = error_of(body)
    assert loc == "versions.0.seasons" and "overlaps season 0 on 09-30" in msg
    body["versions"][0]["seasons"][1]["from"] = "10-02"
    assert "10-01 is in no season" in error_of(body)[1]


def test_flat_needs_a_price_and_currency_is_iso() -> None:
    loc, _ = error_of(
        {"name": "f", "currency": "EUR", "versions": [{"valid_from": "2026-01-01", "kind": "flat"}]}
    )
    assert loc == "versions.0"
    loc, _ = error_of(
        {
            "name": "f",
            "currency": "euro",
            "versions": [{"valid_from": "2026-01-01", "kind": "flat", "price_per_kwh": 1.0}],
        }
    )
    assert loc == "currency"
