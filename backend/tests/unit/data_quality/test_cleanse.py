"""The cleansing rules alone (no I/O): physical ranges, gaps, late messages, clock offsets, and that assessing
a batch changes no state (a batch retried after an infrastructure failure is assessed alike)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from dtwin.contracts.telemetry import Telemetry
from dtwin.data_quality.cleanse import CleanseConfig, Cleanser, Range

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


class Physical:
    """A physical-range table as machine_types/ranges.py OperatingRanges holds it."""

    def __init__(self, table: Mapping[str, Mapping[str, Range]]) -> None:
        self.physical = table
        self.physical_version = 1


PUMP = Physical({"pump": {"temperature_c": (-40.0, 300.0), "vibration_mm_s": (0.0, math.inf)}})


def tm(machine: str, s: float, mtype: str = "pump", quality: str = "good", **readings: float) -> Telemetry:
    return Telemetry(machine, mtype, T0 + timedelta(seconds=s), readings or {"temperature_c": 50.0}, quality)  # type: ignore[arg-type]


def run(c: Cleanser, items: list[Telemetry], recv: list[float] | None = None) -> dict[tuple[str, str], int]:
    """assess + commit one batch; the counts found (receive time = device time unless given)."""
    r = recv if recv is not None else [t.ts.timestamp() for t in items]
    return dict(c.commit(c.assess(items, r)).counts)


class TestPhysicalRange:
    def test_readings_outside_the_physical_range_are_flagged_by_sensor(self) -> None:
        c = Cleanser(physical=PUMP)
        items = [
            tm("p1", 0, temperature_c=900.0, vibration_mm_s=2.0),
            tm("p1", 1, temperature_c=95.0, vibration_mm_s=-1.0),  # 95 °C: hot, but a machine problem
            tm("p2", 0, temperature_c=299.0, vibration_mm_s=1e6),  # no upper limit on vibration here
        ]
        a = c.assess(items, [0.0, 1.0, 0.0])
        assert a.bad == {0: frozenset({"temperature_c"}), 1: frozenset({"vibration_mm_s"})}
        assert c.commit(a).counts[("p1", "physical_range")] == 2

    def test_the_boundaries_themselves_are_physical(self) -> None:
        c = Cleanser(physical=PUMP)
        assert c.out_of_range([tm("p", 0, temperature_c=-40.0), tm("p", 1, temperature_c=300.0)]) == {}

    def test_types_and_sensors_without_ranges_and_bad_quality_messages_are_left_alone(self) -> None:
        c = Cleanser(physical=PUMP)
        items = [
            tm("m", 0, mtype="motor", temperature_c=900.0),
            tm("p", 0, other_c=900.0),
            tm("p", 1, quality="bad", temperature_c=900.0),  # the device said so already: stored as sent
        ]
        assert c.out_of_range(items) == {}

    def test_a_message_naming_no_type_uses_the_machines_last_named_type(self) -> None:
        c = Cleanser(physical=PUMP)
        assert c.out_of_range([tm("p", 0), tm("p", 1, mtype="unknown", temperature_c=900.0)]) == {
            1: frozenset({"temperature_c"})
        }

    def test_a_changed_table_is_used_from_the_next_batch(self) -> None:
        table = {"pump": {"temperature_c": (-40.0, 300.0)}}
        phys = Physical(table)
        c = Cleanser(physical=phys)
        assert c.out_of_range([tm("p", 0, temperature_c=250.0)]) == {}
        phys.physical = {"pump": {"temperature_c": (-40.0, 200.0)}}
        phys.physical_version += 1
        assert c.out_of_range([tm("p", 1, temperature_c=250.0)]) == {0: frozenset({"temperature_c"})}


class TestGaps:
    def test_a_silence_longer_than_the_limit_is_a_gap_recorded_when_the_machine_resumes(self) -> None:
        c = Cleanser(CleanseConfig(gap_factor=5, gap_floor_s=10))
        run(c, [tm("p", s) for s in range(5)])  # every second
        found = c.commit(c.assess([tm("p", 64)], [64.0]))
        assert [(g.machine_id, g.start, g.end, g.seconds) for g in found.gaps] == [
            ("p", (T0 + timedelta(seconds=4)).timestamp(), (T0 + timedelta(seconds=64)).timestamp(), 60.0)
        ]
        assert found.counts[("p", "gap")] == 1

    def test_a_pause_under_the_floor_is_no_gap(self) -> None:
        c = Cleanser(CleanseConfig(gap_factor=5, gap_floor_s=10))
        run(c, [tm("p", s) for s in range(5)])
        assert run(c, [tm("p", 13)]) == {}  # 9 s: more than 5 x 1 s, less than the 10 s floor

    def test_the_limit_follows_the_machines_own_interval(self) -> None:
        c = Cleanser(CleanseConfig(gap_factor=5, gap_floor_s=10))
        run(c, [tm("slow", 30 * k) for k in range(6)])  # every 30 s: 5 x 30 = 150 s
        assert run(c, [tm("slow", 150 + 120)]) == {}
        assert run(c, [tm("slow", 270 + 400)]) == {("slow", "gap"): 1}

    def test_gaps_within_one_batch_are_found_per_machine(self) -> None:
        c = Cleanser(CleanseConfig(gap_factor=5, gap_floor_s=10))
        run(c, [tm("a", s) for s in range(5)] + [tm("b", s) for s in range(5)])
        found = c.commit(c.assess([tm("a", 5), tm("b", 40), tm("a", 60), tm("b", 41)], [0.0] * 4))
        assert sorted((g.machine_id, g.seconds) for g in found.gaps) == [("a", 55.0), ("b", 36.0)]


class TestLate:
    def test_a_message_older_than_the_newest_by_more_than_the_lateness_is_late(self) -> None:
        c = Cleanser(CleanseConfig(lateness_s=5))
        run(c, [tm("p", s) for s in range(10, 20)])
        assert run(c, [tm("p", 12), tm("p", 16), tm("p", 20)]) == {("p", "late"): 1}  # 12 < 19 - 5

    def test_out_of_order_within_one_batch_counts_in_arrival_order(self) -> None:
        c = Cleanser(CleanseConfig(lateness_s=5))
        assert run(c, [tm("p", 100), tm("p", 50), tm("q", 50)]) == {("p", "late"): 1}


class TestClockOffset:
    def test_the_estimate_is_the_smallest_delay_robust_to_queued_messages(self) -> None:
        c = Cleanser(CleanseConfig(clock_window_s=10, clock_offset_threshold_s=2))
        for k in range(60):  # the device clock 30 s behind; transport 0.1..0.5 s, every 7th queued 40 s
            delay = 30.0 + 0.1 + (k % 5) * 0.1 + (40.0 if k % 7 == 0 else 0.0)
            ts = T0.timestamp() + k
            counts = run(c, [tm("p", k)], [ts + delay])
        assert c.offset_of("p") == pytest.approx(30.1, abs=0.05)
        assert counts == {("p", "clock_offset"): 1}
        assert [(m, round(o, 1)) for m, o, _ in c.offsets()] == [("p", 30.1)]
        assert c.offsets() == []  # only what changed since the last read

    def test_a_good_clock_counts_nothing_and_is_not_corrected(self) -> None:
        c = Cleanser(CleanseConfig(clock_offset_threshold_s=2, clock_correct=True))
        for k in range(5):
            assert run(c, [tm("p", k)], [T0.timestamp() + k + 0.05]) == {}
        t = tm("p", 5)
        assert c.assess([t], [0.0]).corrected == 0 and t.ts == T0 + timedelta(seconds=5)

    def test_correction_is_off_by_default_and_shifts_timestamps_when_on(self) -> None:
        for correct, expected in ((False, T0), (True, T0 + timedelta(seconds=30))):
            c = Cleanser(CleanseConfig(clock_correct=correct))
            run(c, [tm("p", 0)], [T0.timestamp() + 30.0])
            t = tm("p", 0)
            c.assess([t], [T0.timestamp() + 30.0])
            assert t.ts == expected, correct

    def test_an_offset_of_hours_is_reported_but_never_corrected(self) -> None:
        c = Cleanser(CleanseConfig(clock_correct=True, clock_max_correction_s=3600))
        assert run(c, [tm("p", 0)], [T0.timestamp() + 7200.0]) == {("p", "clock_offset"): 1}  # a backfill
        t = tm("p", 1)
        assert c.assess([t], [0.0]).corrected == 0 and t.ts == T0 + timedelta(seconds=1)


def test_assessing_changes_no_state_so_a_retried_batch_is_assessed_alike() -> None:
    c = Cleanser(CleanseConfig(lateness_s=5), physical=PUMP)
    run(c, [tm("p", s) for s in range(5)])
    batch = [tm("p", 60, temperature_c=900.0)]
    first = c.assess(batch, [60.0])
    second = c.assess(batch, [60.0])  # the retry after an infrastructure failure
    assert first.bad == second.bad
    found = c.commit(second)
    assert len(found.gaps) == 1 and ("p", "late") not in found.counts
