"""Consumption and time-of-use cost on real PostgreSQL from the stored rollups: a meter whose counter is
reset in the night summer time ends (Europe/Berlin, 2026-10-25), figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.core.db import transaction
from dtwin.energy.schemas import TariffIn
from dtwin.energy.service import EnergyService
from dtwin.lifecycle.refresher import RollupRefresher
from dtwin.readings.service import ReadingTuple, store_readings

TZ = "Europe/Berlin"
START = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # 22:00 CEST
RESET_AT = 330  # reading index: 2026-10-25T01:30Z (02:30 CET, after the clocks went back)


class Fleet:
    async def fleet(self) -> list[dict[str, Any]]:
        return [
            {"id": "em-1", "site": "plant-a", "line": "l1", "readings": {"energy_kwh": 1.0}},
            {"id": "pump-1", "site": "plant-a", "line": "l1", "readings": {"flow": 1.0}},
        ]


def meter_readings() -> list[ReadingTuple]:
    """A reading a minute for 8 h, 1 kWh a minute; reset to 0 just before reading RESET_AT."""
    return [
        (
            "em-1",
            "energy_kwh",
            START + timedelta(minutes=i),
            float(i if i < RESET_AT else i - RESET_AT + 1),
            "good",
        )
        for i in range(480)
    ]


TARIFF = {
    "name": "plant-a",
    "site": "plant-a",
    "currency": "EUR",
    "versions": [
        {
            "valid_from": "2026-01-01",
            "kind": "tou",
            "seasons": [
                {
                    "name": "year",
                    "from": "01-01",
                    "to": "12-31",
                    "bands": [
                        {"days": "all", "start": "00:00", "end": "02:30", "price": 1.0},
                        {"days": "all", "start": "02:30", "end": "24:00", "price": 3.0},
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture
async def stored(sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    await store_readings(sessions, meter_readings())
    refresher = RollupRefresher(sessions, tz=TZ)
    while (await refresher.refresh(START + timedelta(hours=10))).behind_s > 0:
        pass
    async with transaction(sessions) as session:
        await EnergyService(session, Fleet(), None, TZ).create_tariff(TariffIn.model_validate(TARIFF))
    return sessions


async def test_hourly_and_daily_consumption_and_cost_from_rollups(
    stored: async_sessionmaker[AsyncSession],
) -> None:
    async with stored() as session:
        service = EnergyService(session, Fleet(), None, TZ)
        hourly = await service.consumption("site", "plant-a", "hour", START, START + timedelta(hours=8))
        daily = await service.consumption("meter", "em-1", "day", START, START + timedelta(hours=8))
        peaks = await service.peaks("plant-a", datetime(2026, 10, 1).date(), 1)
        heat = await service.heatmap("plant-a", START, START + timedelta(hours=8))
    assert hourly.meters == ["em-1"] and hourly.source.startswith("rollup:1h")
    # hour by hour (UTC 20..03): 59.5 (no earlier reading), 60 x 6 (the reset hour too), 59.5
    assert [i.kwh for i in hourly.items] == pytest.approx([59.5, 60, 60, 60, 60, 60, 60, 59.5])
    # 22, 23 CEST at 3.0; 00, 01 CEST at 1.0; 02-03 CEST and 02-03 CET half and half; 03, 04 CET at 3.0
    assert [i.cost for i in hourly.items] == pytest.approx([178.5, 180, 60, 60, 120, 120, 180, 178.5])
    assert [i.flags.resets for i in hourly.items] == [0, 0, 0, 0, 0, 1, 0, 0]
    assert hourly.total_kwh == pytest.approx(479) and hourly.currency == "EUR"
    # local days: 24 Oct (22:00-24:00 CEST), 25 Oct (25 h long)
    assert [i.start for i in daily.items] == [
        datetime(2026, 10, 23, 22, tzinfo=UTC),
        datetime(2026, 10, 24, 22, tzinfo=UTC),
    ]
    assert daily.items[1].end == datetime(2026, 10, 25, 23, tzinfo=UTC)
    assert [i.kwh for i in daily.items] == pytest.approx([119.5, 359.5])
    assert [i.cost for i in daily.items] == pytest.approx([358.5, 718.5])
    assert daily.flags.resets == 1 and daily.total_cost == pytest.approx(1077)
    # 1 kWh a minute: 15 kWh per quarter-hour = 60 kW
    assert peaks.items[0].peak_kw == pytest.approx(60) and not peaks.empty
    assert heat.total_kwh == pytest.approx(479)
    assert heat.hours[6][2] == 2  # Sunday 02:00 local happened twice


async def test_a_window_without_readings_is_empty(stored: async_sessionmaker[AsyncSession]) -> None:
    async with stored() as session:
        got = await EnergyService(session, Fleet(), None, TZ).consumption(
            "line", "l1", "day", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)
        )
    assert got.empty and got.total_kwh == 0 and got.total_cost is None
    assert got.note == "no energy_kwh readings in the window"
    assert all(i.kwh is None for i in got.items)
