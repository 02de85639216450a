"""The twin as of an instant from its change log (twins/timeline.py), and the settings entries the consumer
logs (twins/events.py SettingsLog): pure functions over entries, values written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.twins.events import SettingsLog
from dtwin.twins.timeline import (
    Entry,
    attributes_at,
    command_at,
    current_life,
    desired_at,
    interval_of,
    settings_at,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def upto(entries: list[Entry], at: datetime) -> list[Entry]:
    """What the repository returns for `at`: entries at or before it, in recorded order."""
    return [e for e in entries if e.ts <= at]


def settings(i: int, at: float, values: dict[str, Any], **extra: Any) -> Entry:
    times = {k: iso_utc(t(at)) for k in values}
    return Entry(i, t(at), "settings", {"settings": values, "times": times, **extra})


LOG = [
    Entry(1, t(0), "created", {"machine_type": "press", "attributes": {"serial": "A1"}}),
    settings(2, 1, {"mode": "on", "speed": 1000}),
    Entry(3, t(5), "desired", {"desired": {"mode": "standby"}, "desired_version": 1}),
    Entry(
        4, t(6), "ack", {"version": 1, "status": "accepted", "applied": {"mode": "standby"}, "rejected": {}}
    ),
    settings(5, 6.5, {"mode": "standby"}),
    Entry(6, t(8), "attributes", {"attributes": {"serial": "A1", "expected_interval_s": 2}}),
    Entry(7, t(10), "desired", {"desired": {"mode": "standby", "speed": 900}, "desired_version": 2}),
    Entry(8, t(10.5), "command", {"version": 2, "status": "undelivered"}),
    Entry(9, t(12), "command", {"version": 2, "status": "pending"}),
    Entry(10, t(13), "ack", {"version": 2, "status": "partial", "applied": {}, "rejected": {"speed": "no"}}),
]


class TestDesired:
    def test_before_any_change_is_empty_version_0(self) -> None:
        assert desired_at(upto(LOG, t(4.9))) == ({}, 0)

    def test_each_change_sets_document_and_version(self) -> None:
        assert desired_at(upto(LOG, t(5))) == ({"mode": "standby"}, 1)
        assert desired_at(upto(LOG, t(9.99))) == ({"mode": "standby"}, 1)
        assert desired_at(upto(LOG, t(10))) == ({"mode": "standby", "speed": 900}, 2)


class TestCommand:
    def test_none_before_the_first_desired_change(self) -> None:
        assert command_at(upto(LOG, t(4))) is None

    def test_follows_desired_acks_and_platform_statuses(self) -> None:
        expected = [
            (5, 1, "pending", {}, {}, t(5)),
            (6, 1, "accepted", {"mode": "standby"}, {}, t(6)),
            (10, 2, "pending", {}, {}, t(10)),
            (11, 2, "undelivered", {}, {}, t(10.5)),
            (12.5, 2, "pending", {}, {}, t(12)),
            (20, 2, "partial", {}, {"speed": "no"}, t(13)),
        ]
        for at, version, status, applied, rejected, ts in expected:
            c = command_at(upto(LOG, t(at)))
            assert c is not None
            assert (c.version, c.status, c.applied, c.rejected, c.ts) == (
                version,
                status,
                applied,
                rejected,
                ts,
            )

    def test_an_answer_to_an_older_command_changes_nothing(self) -> None:
        late = [
            *LOG,
            Entry(11, t(14), "ack", {"version": 1, "status": "rejected", "applied": {}, "rejected": {}}),
        ]
        c = command_at(late)
        assert c is not None and (c.version, c.status) == (2, "partial")

    def test_time_is_kept_to_the_millisecond_as_the_live_twin_keeps_it(self) -> None:
        e = Entry(1, t(1) + timedelta(microseconds=123_456), "command", {"version": 1, "status": "pending"})
        c = command_at([e])
        assert c is not None and c.ts == t(1.123)


class TestAttributes:
    def test_created_then_replaced(self) -> None:
        assert attributes_at(upto(LOG, t(7))) == {"serial": "A1"}
        assert attributes_at(upto(LOG, t(8))) == {"serial": "A1", "expected_interval_s": 2}

    def test_a_twin_made_by_telemetry_has_none(self) -> None:
        assert attributes_at([settings(1, 0, {"mode": "on"})]) == {}

    def test_expected_interval_from_attributes_or_the_default(self) -> None:
        assert interval_of({"expected_interval_s": 2}, 1.0) == 2.0
        assert interval_of({"expected_interval_s": True}, 1.0) == 1.0
        assert interval_of({"expected_interval_s": -3}, 1.0) == 1.0
        assert interval_of({}, 1.5) == 1.5


class TestSettings:
    def test_each_setting_has_its_newest_value_at_or_before(self) -> None:
        assert settings_at(upto(LOG, t(0.5)), t(0.5)).values == {}
        s = settings_at(upto(LOG, t(6)), t(6))
        assert (s.values, s.times) == ({"mode": "on", "speed": 1000}, {"mode": t(1), "speed": t(1)})
        s = settings_at(upto(LOG, t(7)), t(7))
        assert (s.values, s.times["mode"], s.inexact) == ({"mode": "standby", "speed": 1000}, t(6.5), [])

    def test_late_value_counts_by_its_device_time_not_by_when_it_was_logged(self) -> None:
        entries = [
            settings(1, 10, {"mode": "on"}),
            Entry(2, t(5), "settings", {"settings": {"mode": "off"}, "times": {"mode": iso_utc(t(5))}}),
        ]
        assert settings_at(entries, t(20)).values == {"mode": "on"}  # the newer device time wins
        assert settings_at(entries, t(7)).values == {"mode": "off"}

    def test_same_device_time_keeps_the_first_recorded(self) -> None:
        entries = [settings(1, 10, {"mode": "on"}), settings(2, 10, {"mode": "off"})]
        assert settings_at(entries, t(10)).values == {"mode": "on"}  # as apply.lua keeps it

    def test_an_entry_with_mixed_times_gives_each_value_at_its_own_time(self) -> None:
        e = Entry(
            1,
            t(3),
            "settings",
            {"settings": {"a": 1, "b": 2}, "times": {"a": iso_utc(t(3)), "b": iso_utc(t(8))}},
        )
        assert settings_at([e], t(5)).values == {"a": 1}
        assert settings_at([e], t(8)).values == {"a": 1, "b": 2}

    def test_coalesced_changes_mark_the_held_window_inexact(self) -> None:
        entries = [
            settings(1, 0, {"mode": "a"}),
            Entry(
                2,
                t(60),
                "settings",
                {
                    "settings": {"mode": "z"},
                    "times": {"mode": iso_utc(t(60))},
                    "coalesced": 40,
                    "held_since": {"mode": iso_utc(t(30))},
                },
            ),
        ]
        assert settings_at(entries, t(20)).inexact == []
        held = settings_at(entries, t(45))
        assert held.values == {"mode": "a"} and held.inexact == ["mode"]
        assert settings_at(entries, t(60)).inexact == []


class TestLife:
    def test_entries_after_the_last_deletion(self) -> None:
        entries = [*LOG, Entry(11, t(30), "deleted", {}), Entry(12, t(31), "created", {"attributes": {}})]
        life, deleted = current_life(entries)
        assert deleted is not None and deleted.id == 11 and [e.id for e in life] == [12]
        assert attributes_at(life) == {} and desired_at(life) == ({}, 0) and command_at(life) is None

    def test_no_deletion_is_the_whole_log(self) -> None:
        life, deleted = current_life(LOG)
        assert deleted is None and life == LOG


def update(
    machine: str, ts: datetime, reported: dict[str, Any], times: dict[str, str] | None = None
) -> TwinUpdate:
    return TwinUpdate(
        id=machine,
        machine_type="press",
        site=None,
        line=None,
        ts=iso_utc(ts),
        quality="good",
        readings={"x": 1.0},
        reported=reported,
        times=times or {},
    )


def observe(log: SettingsLog, now: datetime, *updates: TwinUpdate) -> list[dict[str, Any]]:
    return log.observe([u.id for u in updates], {u.id: u for u in updates}, now)


class TestSettingsLog:
    def test_logs_only_changes_with_their_device_times(self) -> None:
        log = SettingsLog()
        first = observe(log, t(1), update("m", t(0.9), {"mode": "on", "speed": 1}))
        assert [e["details"] for e in first] == [
            {
                "settings": {"mode": "on", "speed": 1},
                "times": {"mode": iso_utc(t(0.9)), "speed": iso_utc(t(0.9))},
            }
        ]
        assert first[0]["ts"] == t(0.9) and first[0]["kind"] == "settings"
        assert observe(log, t(2), update("m", t(1.9), {"mode": "on", "speed": 1})) == []
        changed = observe(log, t(3), update("m", t(2.9), {"mode": "on", "speed": 2}))
        assert [e["details"]["settings"] for e in changed] == [{"speed": 2}]

    def test_a_value_of_another_type_is_a_change(self) -> None:
        log = SettingsLog()
        observe(log, t(1), update("m", t(1), {"flag": 1}))
        assert [e["details"]["settings"] for e in observe(log, t(2), update("m", t(2), {"flag": True}))] == [
            {"flag": True}
        ]

    def test_an_older_value_than_known_is_not_logged(self) -> None:
        log = SettingsLog()
        observe(log, t(10), update("m", t(10), {"mode": "on"}))
        assert observe(log, t(11), update("m", t(5), {"mode": "off"})) == []  # apply.lua keeps "on"

    def test_a_machine_apply_lua_did_not_change_is_skipped(self) -> None:
        log = SettingsLog()
        u = update("m", t(1), {"mode": "on"})
        assert log.observe([], {"m": u}, t(1)) == []

    def test_over_the_cap_changes_are_held_and_logged_coalesced_after_the_minute(self) -> None:
        log = SettingsLog(per_minute=3)
        logged = []
        for k in range(10):
            logged += observe(log, t(k), update("m", t(k), {"mode": f"v{k}"}))
        assert [e["details"]["settings"]["mode"] for e in logged] == ["v0", "v1", "v2"]
        assert observe(log, t(59), update("other", t(59), {"a": 1}))[0]["machine_id"] == "other"
        late = observe(log, t(60), update("other", t(60), {"a": 1}))
        assert len(late) == 1
        d = late[0]["details"]
        assert d["settings"] == {"mode": "v9"} and d["times"] == {"mode": iso_utc(t(9))}
        assert d["coalesced"] == 7 and d["held_since"] == {"mode": iso_utc(t(3))}
        assert observe(log, t(61), update("m", t(61), {"mode": "w"}))[0]["details"]["settings"] == {
            "mode": "w"
        }

    def test_known_settings_are_logged_again_after_the_refresh(self) -> None:
        log = SettingsLog(refresh_s=100)
        observe(log, t(0), update("m", t(0), {"mode": "on"}))
        assert observe(log, t(50), update("m", t(50), {"mode": "on"})) == []
        again = observe(log, t(100), update("m", t(100), {"mode": "on"}))
        assert [e["details"]["settings"] for e in again] == [{"mode": "on"}]
