"""Routing rules as pure functions: who a notice reaches (priority, placement filters, transitions), when
(quiet hours in the rule's time zone, critical ones at once) and the escalation plan over tiers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from dtwin.notifications.routing import Planned, QuietHours, Rule, needs_escalated, plan

from ...factories.notifications import T0, notice


def rule(id: int = 1, **fields: Any) -> Rule:
    return Rule(id=id, name=f"r{id}", channel="webhook", targets=("https://x.example/h",), **fields)


def reached(planned: list[Planned]) -> list[tuple[int, str, int]]:
    return [(p.rule.id, p.kind, p.tier) for p in planned]


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("critical", [1, 2, 3]), ("high", [1, 2]), ("medium", [1]), ("low", [1])],
)
def test_min_priority_lets_through_that_priority_and_more_urgent_ones(
    priority: str, expected: list[int]
) -> None:
    rules = [rule(1, min_priority="low"), rule(2, min_priority="high"), rule(3, min_priority="critical")]
    assert [p.rule.id for p in plan(notice(priority=priority), rules, T0)] == expected


def test_site_line_and_type_filters_must_all_match() -> None:
    rules = [
        rule(1, sites=frozenset({"s1"})),
        rule(2, sites=frozenset({"s2"})),
        rule(3, lines=frozenset({"l1", "l9"}), machine_types=frozenset({"centrifugal_pump"})),
        rule(4, lines=frozenset({"l1"}), machine_types=frozenset({"compressor"})),
    ]
    assert [p.rule.id for p in plan(notice(), rules, T0)] == [1, 3]
    # a platform alarm has no placement: only unfiltered rules take it
    system = notice(machine_id="system", site=None, line=None, machine_type=None)
    assert plan(system, [*rules, rule(5)], T0)[0].rule.id == 5
    assert len(plan(system, [*rules, rule(5)], T0)) == 1


def test_transitions_default_to_raised_and_others_are_opt_in() -> None:
    rules = [rule(1), rule(2, transitions=frozenset({"raised", "acknowledged", "cleared"}))]
    assert [p.rule.id for p in plan(notice(transition="raised"), rules, T0)] == [1, 2]
    assert [p.rule.id for p in plan(notice(transition="acknowledged", seq=2), rules, T0)] == [2]
    assert plan(notice(transition="commented", seq=3), rules, T0) == []


def test_a_shelved_or_suppressed_alarm_notifies_nobody_but_about_its_shelving() -> None:
    rules = [rule(1, transitions=frozenset({"raised", "shelved", "cleared"}))]
    assert plan(notice(shelved=True), rules, T0) == []
    assert plan(notice(transition="cleared", suppressed=True), rules, T0) == []
    assert [p.rule.id for p in plan(notice(transition="shelved", shelved=True), rules, T0)] == [1]


class TestQuietHours:
    BERLIN = ZoneInfo("Europe/Berlin")

    def test_a_period_over_midnight_in_local_time(self) -> None:
        quiet = QuietHours(time(22, 0), time(6, 0), self.BERLIN)
        # 2026-12-07 is winter time (UTC+1): 22:30 local = 21:30 UTC
        late = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)
        assert quiet.active(late)
        assert quiet.release(late) == datetime(2026, 12, 8, 5, 0, tzinfo=UTC)  # 06:00 local next day
        early = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 05:00 local
        assert quiet.release(early) == datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
        noon = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)
        assert not quiet.active(noon)
        assert quiet.release(noon) == noon
        assert not quiet.active(datetime(2026, 12, 8, 5, 0, tzinfo=UTC))  # the end itself is not quiet

    def test_a_period_within_a_day_across_a_daylight_saving_change(self) -> None:
        quiet = QuietHours(time(1, 0), time(4, 0), self.BERLIN)
        # 2026-03-29: clocks go from 02:00 to 03:00 local; 01:30 local = 00:30 UTC
        at = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
        assert quiet.active(at)
        assert quiet.release(at) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 summer time

    def test_non_critical_messages_wait_for_the_end_critical_ones_do_not(self) -> None:
        quiet = QuietHours(time(11, 0), time(13, 0), ZoneInfo("UTC"))
        rules = [rule(1, quiet=quiet)]
        (held,) = plan(notice(priority="high"), rules, T0)
        assert held.due == T0.replace(hour=13)
        (urgent,) = plan(notice(priority="critical"), rules, T0)
        assert urgent.due == T0


class TestEscalationPlan:
    def test_each_tier_is_due_after_the_delays_of_the_tiers_before(self) -> None:
        rules = [
            rule(1, tier=1, escalate_after_s=300),
            rule(2, tier=1, escalate_after_s=600),  # the tier's smallest delay counts
            rule(3, tier=2, escalate_after_s=900),
            rule(4, tier=3),
            rule(5, tier=4),  # tier 3 names no delay: the chain ends there
        ]
        raised_at = T0 - timedelta(seconds=60)
        planned = plan(notice(raised_at=raised_at), rules, T0)
        assert reached(planned) == [
            (1, "notice", 1),
            (2, "notice", 1),
            (3, "escalation", 2),
            (4, "escalation", 3),
        ]
        assert [p.due for p in planned] == [
            T0,
            T0,
            raised_at + timedelta(seconds=300),
            raised_at + timedelta(seconds=300 + 900),
        ]

    def test_the_lowest_tier_covering_the_notice_is_told_at_once(self) -> None:
        rules = [rule(1, tier=1, sites=frozenset({"elsewhere"}), escalate_after_s=60), rule(2, tier=2)]
        assert reached(plan(notice(), rules, T0)) == [(2, "notice", 2)]

    def test_other_transitions_reach_a_higher_tier_only_once_escalated(self) -> None:
        both = frozenset({"raised", "acknowledged"})
        rules = [rule(1, tier=1, escalate_after_s=60, transitions=both), rule(2, tier=2, transitions=both)]
        ack = notice(transition="acknowledged", seq=2)
        assert needs_escalated(ack, rules)
        assert reached(plan(ack, rules, T0)) == [(1, "notice", 1)]
        assert reached(plan(ack, rules, T0, escalated=frozenset({2}))) == [(1, "notice", 1), (2, "notice", 2)]
        assert not needs_escalated(notice(), rules)


def test_a_notice_without_a_readable_raised_at_escalates_from_its_own_time() -> None:
    rules = [rule(1, tier=1, escalate_after_s=60), rule(2, tier=2)]
    at = T0 - timedelta(seconds=30)
    for raised_at in ("", "yesterday"):
        planned = plan(msgspec.structs.replace(notice(at=at), raised_at=raised_at), rules, T0)
        assert [p.due for p in planned] == [T0, at + timedelta(seconds=60)]
