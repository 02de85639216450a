"""What `dtwin demo` puts in a new plant so a first-time user sees alarms, notifications and energy costs
without setting anything up: a `hi` threshold rule on every sensor of every catalogue machine type, at the
top of its operating range (the simulator's healthy machines stay inside; its faults push sensors out), an
email route for high and critical alarms, delivered to the embedded mail sink (files under
DTWIN_DATA_DIR/mail), and a fleet-default time-of-use tariff (the Energy view's costs).
Seeded once: nothing is added when any rule, route or fleet tariff exists (an operator's edits stay)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.schemas import AlarmRuleIn
from dtwin.alarms.service import AlarmService
from dtwin.contracts.catalogue import machine_catalogue
from dtwin.core.db import transaction
from dtwin.energy.schemas import TariffIn
from dtwin.energy.service import EnergyService
from dtwin.notifications.schemas import RouteIn
from dtwin.notifications.service import NotificationService

log = structlog.get_logger(__name__)

DEMO_RECIPIENT = "operators@plant.example.com"
DEMO_TARIFF = "demo time-of-use"


def catalogue_rules() -> list[AlarmRuleIn]:
    """A hi rule at the top of every catalogue sensor's operating range (deadband 2% of the range, on 5 s,
    off 10 s, priority high): the demo's rules, and the alarm bench's."""
    out: list[AlarmRuleIn] = []
    for t in machine_catalogue().values():
        for s in t.sensors:
            out.append(
                AlarmRuleIn(
                    name=f"{t.name} {s.name} high",
                    machine_type=t.name,
                    sensor=s.name,
                    kind="hi",
                    threshold=s.hi,
                    deadband=round(0.02 * (s.hi - s.lo), 6),
                    on_delay_s=5.0,
                    off_delay_s=10.0,
                    priority="high",
                )
            )
    return out


def demo_tariff(tz: str, now: datetime | None = None) -> TariffIn:
    """The demo's fleet-default tariff (EUR): weekdays dear by day (peak 08:00-18:00, shoulder 06:00-08:00 and
    18:00-22:00), cheap at night and all weekend. The bands are wall-clock times in the plant's zone (as every
    tariff's); the one version is valid from 1 January of last year there, so a year of history is priced."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()
    band = "{:02d}:00".format
    weekday = [
        (0, 6, 0.14, "off-peak"),
        (6, 8, 0.22, "shoulder"),
        (8, 18, 0.32, "peak"),
        (18, 22, 0.22, "shoulder"),
        (22, 24, 0.14, "off-peak"),
    ]
    bands: list[dict[str, Any]] = [
        {"days": "weekday", "start": band(a), "end": band(b), "price": price, "name": name}
        for a, b, price, name in weekday
    ]
    bands.append({"days": "weekend", "start": "00:00", "end": "24:00", "price": 0.14, "name": "off-peak"})
    return TariffIn.model_validate(
        {
            "name": DEMO_TARIFF,
            "site": None,
            "currency": "EUR",
            "versions": [
                {
                    "valid_from": today.replace(year=today.year - 1, month=1, day=1).isoformat(),
                    "kind": "tou",
                    "seasons": [{"name": "all year", "from": "01-01", "to": "12-31", "bands": bands}],
                }
            ],
        }
    )


class _NoFleet:
    """Tariffs need no fleet (EnergyService asks it only about meters)."""

    async def fleet(self) -> list[dict[str, Any]]:
        return []


async def seed_demo(sessions: async_sessionmaker[AsyncSession], tz: str = "UTC") -> tuple[int, int, int]:
    """Seed the demo's alarm rules, email route and fleet-default tariff (bands in the plant's zone `tz`)
    where there are none; (rules, routes, tariffs) added."""
    rules = routes = tariffs = 0
    async with sessions() as session:
        alarms = AlarmService(session)
        if (await alarms.rules(None, None)).count == 0:
            for body in catalogue_rules():
                await alarms.create_rule(body, "system:demo")
                rules += 1
    async with sessions() as session:
        notifications = NotificationService(session)
        if not (await notifications.list_routes()).items:
            route = RouteIn(
                name="demo-operators",
                channel="email",
                targets=[DEMO_RECIPIENT],
                min_priority="high",
            )
            await notifications.create_route(route)
            await session.commit()
            routes += 1
    async with transaction(sessions) as session:
        energy = EnergyService(session, _NoFleet(), None, tz)
        if all(t.site is not None for t in (await energy.list_tariffs()).items):
            await energy.create_tariff(demo_tariff(tz))
            tariffs += 1
    if rules or routes or tariffs:
        log.info(
            "demo_seeded",
            alarm_rules=rules,
            notification_routes=routes,
            fleet_tariffs=tariffs,
            email_to=DEMO_RECIPIENT,
        )
    return rules, routes, tariffs
