"""What `dtwin demo` puts in a new plant so a first-time user sees alarms and notifications without setting
anything up: a `hi` threshold rule on every sensor of every catalogue machine type, at the top of its
operating range (the simulator's healthy machines stay inside; its faults push sensors out), and an email
route for high and critical alarms, delivered to the embedded mail sink (files under DTWIN_DATA_DIR/mail).
Seeded once: nothing is added when any rule or route exists (an operator's edits stay)."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.schemas import AlarmRuleIn
from dtwin.alarms.service import AlarmService
from dtwin.contracts.catalogue import machine_catalogue
from dtwin.notifications.schemas import RouteIn
from dtwin.notifications.service import NotificationService

log = structlog.get_logger(__name__)

DEMO_RECIPIENT = "operators@plant.example.com"


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


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """Seed the demo's alarm rules and email route when there are none; (rules, routes) added."""
    rules = routes = 0
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
    if rules or routes:
        log.info("demo_seeded", alarm_rules=rules, notification_routes=routes, email_to=DEMO_RECIPIENT)
    return rules, routes
