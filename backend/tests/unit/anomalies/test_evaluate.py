"""Event-level precision / recall / F1 / detection delay."""

import numpy as np

from dtwin.anomalies.evaluate import GroundTruthEvent, evaluate


def test_per_kind_metrics_on_a_hand_checked_case() -> None:
    ts = np.arange(1000, dtype=np.float64)
    scores = np.zeros(1000)
    scores[105:110] = 0.9  # spike event [100, 120]: detected after 5 s
    scores[300:302] = 0.8  # drift event [290, 400]: detected after 10 s
    scores[700] = 0.7  # a false alarm (one episode)
    scores[800:803] = 0.6  # another false alarm episode
    scores[950] = 0.6  # a third, inside the grace of nothing
    events = [
        GroundTruthEvent(None, None, "spike", 100.0, 120.0),
        GroundTruthEvent(None, None, "drift", 290.0, 400.0),
        GroundTruthEvent(None, None, "drift", 500.0, 600.0),  # missed
    ]
    report = evaluate(ts, scores, events, threshold=0.5, grace_s=30.0)
    assert report.alarm_episodes == 5
    assert report.false_alarms == 3
    spike, drift = report.kinds["spike"], report.kinds["drift"]
    assert (spike.events, spike.detected, spike.median_delay_s) == (1, 1, 5.0)
    assert spike.recall == 1.0 and spike.precision == 1 / 4
    assert (drift.events, drift.detected, drift.median_delay_s) == (2, 1, 10.0)
    assert drift.recall == 0.5 and drift.precision == 1 / 4
    assert abs(drift.f1 - 2 * 0.25 * 0.5 / 0.75) < 1e-12
    assert report.overall.detected == 2 and report.overall.recall == 2 / 3


def test_grace_window_counts_late_alarms_and_machines_are_matched() -> None:
    ts = np.tile(np.arange(200, dtype=np.float64), 2)
    machines = ["a"] * 200 + ["b"] * 200
    scores = np.zeros(400)
    scores[200 + 130] = 0.9  # machine b alarms 10 s after its event ended
    scores[50] = 0.9  # machine a alarms during b's event: not a detection of it
    events = [GroundTruthEvent("b", None, "leak", 40.0, 120.0)]
    strict = evaluate(ts, scores, events, machine_ids=machines, grace_s=0.0)
    assert strict.kinds["leak"].detected == 0 and strict.false_alarms == 2
    lenient = evaluate(ts, scores, events, machine_ids=machines, grace_s=15.0)
    assert lenient.kinds["leak"].detected == 1
    assert lenient.kinds["leak"].median_delay_s == 90.0
    assert lenient.false_alarms == 1


def test_sensor_specific_events_match_their_sensor() -> None:
    ts = np.tile(np.arange(100, dtype=np.float64), 2)
    sensors = ["temp"] * 100 + ["vib"] * 100
    scores = np.zeros(200)
    scores[100 + 20] = 0.9  # the vib series alarms
    ev = GroundTruthEvent(None, "temp", "spike", 15.0, 25.0)
    report = evaluate(ts, scores, [ev], sensors=sensors, grace_s=0.0)
    assert report.kinds["spike"].detected == 0
    assert report.false_alarms == 1


def test_flickering_alarms_merge_into_one_episode_with_a_gap() -> None:
    ts = np.arange(1000, dtype=np.float64)
    scores = np.zeros(1000)
    scores[[500, 530, 590]] = 0.9  # one false alarm flickering over 90 s...
    scores[900] = 0.9  # ...and a separate one later
    events = [GroundTruthEvent(None, None, "leak", 100.0, 120.0)]
    assert evaluate(ts, scores, events).false_alarms == 4
    merged = evaluate(ts, scores, events, merge_gap_s=120.0)
    assert merged.alarm_episodes == 2 and merged.false_alarms == 2


def test_merged_episodes_with_no_alarm_at_all() -> None:
    """A run in which nothing reaches the threshold: no episode, no false alarm, every event missed (this
    raised IndexError when alarms were merged across a gap)."""
    ts = np.arange(100, dtype=np.float64)
    events = [GroundTruthEvent(None, None, "spike", 40.0, 45.0)]
    for gap in (0.0, 120.0):
        report = evaluate(ts, np.zeros(100), events, merge_gap_s=gap)
        assert (report.alarm_episodes, report.false_alarms) == (0, 0)
        assert report.kinds["spike"].detected == 0 and report.kinds["spike"].recall == 0.0
