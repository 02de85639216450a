"""A machine's settings history cut into steady spans: settle time, coalesced entries, unchanged re-logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dtwin.whatif.history import Change, change_of, features, steady_spans

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_spans_start_after_settling_and_end_at_the_next_change() -> None:
    changes = [
        Change(at(0), {"mode": "on", "speed": 2900}),
        Change(at(1000), {"speed": 2000}),
        Change(at(1100), {"speed": 2100}),  # the span before is shorter than settle_s: left out
    ]
    spans = steady_spans(changes, 120.0, at(2000))
    assert [(s.start, s.end, s.settings["speed"]) for s in spans] == [
        (at(120), at(1000), 2900),
        (at(1220), at(2000), 2100),
    ]
    assert spans[1].settings["mode"] == "on"  # settings carry over
    assert len(steady_spans(changes, 120.0, at(2000), newest=1)) == 1


def test_a_relogged_unchanged_setting_does_not_cut_a_span() -> None:
    changes = [
        Change(at(0), {"speed": 2900}),
        Change(at(3600), {"speed": 2900}),
        Change(at(4000), {"speed": 1}),
    ]
    spans = steady_spans(changes, 120.0, at(5000))
    assert (spans[0].start, spans[0].end) == (at(120), at(4000))


def test_a_coalesced_entry_ends_the_span_where_its_held_changes_began() -> None:
    entry = {
        "settings": {"speed": 2500},
        "times": {"speed": at(900).isoformat()},
        "held_since": {"speed": at(500).isoformat()},
    }
    changes = [Change(at(0), {"speed": 2900}), change_of(entry, at(800))]
    spans = steady_spans(changes, 120.0, at(2000))
    assert [(s.start, s.end) for s in spans] == [(at(120), at(500)), (at(1020), at(2000))]


def test_since_clips_old_spans_and_features_need_numbers() -> None:
    spans = steady_spans([Change(at(0), {"speed": 2900})], 120.0, at(10_000), since=at(9000))
    assert spans[0].start == at(9000)
    assert features({"speed": 2900, "mode": "on"}, ["speed"]) == (2900.0,)
    assert features({"speed": True}, ["speed"]) is None
    assert features({}, ["speed"]) is None
