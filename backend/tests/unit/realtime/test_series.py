"""The live part of a `series` subscription: readings reduced per pixel column of the subscriber's chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from dtwin.contracts.changes import ReportedChange
from dtwin.contracts.telemetry import iso_utc
from dtwin.realtime.series import LiveSeries

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()


def window(
    sensors: set[str] | None, method: Literal["lttb", "minmax"], span_s: int, width: int, live: bool
) -> LiveSeries:
    """A window of `span_s` seconds on `width` pixels starting at T0 (live: running on past its end)."""
    start = datetime.fromtimestamp(T0, UTC)
    end = start + timedelta(seconds=span_s)
    series = LiveSeries.for_window("pump-0001", sensors, method, start, end, width)
    if live:
        series.end = None
    return series


def change(t: float, **readings: float) -> ReportedChange:
    ts = iso_utc(datetime.fromtimestamp(T0 + t, UTC))
    return ReportedChange(
        id="pump-0001", version=int(t) + 1, ts=ts, last_seen=ts, quality="good", readings=readings
    )


def test_points_denser_than_a_pixel_are_reduced_to_min_and_max_per_column() -> None:
    # A 10-minute window on 60 pixels: 10 s per column; the machine reports every second.
    live = window(None, "minmax", 600, 60, live=True)
    for t in range(20):
        live.add_change(change(t, flow=float(t % 7), temp=50.0))
    items = {i["sensor"]: i for i in live.drain()}
    # Two columns of 10 readings each: one (min, max) pair per column, in time order.
    assert items["flow"]["v"] == [0.0, 6.0, 6.0, 0.0]
    assert [s[17:23] for s in items["flow"]["t"]] == ["00.000", "06.000", "13.000", "14.000"]
    # A flat sensor gives one point per column.
    assert items["temp"]["v"] == [50.0, 50.0]
    assert live.drain() == []


def test_lttb_streams_the_mean_per_column_and_sparse_points_as_they_are() -> None:
    live = window({"flow"}, "lttb", 600, 60, live=True)
    for t in (0, 1, 2, 3):
        live.add_change(change(t, flow=float(t), temp=1.0))
    live.add_change(change(35, flow=9.0))
    (item,) = live.drain()
    assert item["sensor"] == "flow"  # only the subscribed sensors
    assert item["v"] == [1.5, 9.0]
    assert item["t"][0] == "2026-11-23T12:00:01.500Z"


def test_nothing_older_than_what_was_sent_and_nothing_of_other_machines() -> None:
    live = window(None, "lttb", 60, 60, live=True)
    live.seed({"flow": {"t": [iso_utc(datetime.fromtimestamp(T0 + 5, UTC))], "v": [1.0]}})
    assert not live.add_change(change(5, flow=1.0))  # already in the snapshot
    assert not live.add_change(msgspec.structs.replace(change(9, flow=2.0), id="pump-0002"))
    assert live.add_change(change(6, flow=3.0))
    live.add_change(change(6, flow=4.0))  # same instant again: a duplicate, ignored
    assert live.drain() == [
        {"sensor": "flow", "t": [iso_utc(datetime.fromtimestamp(T0 + 6, UTC))], "v": [3.0]}
    ]


def test_a_window_in_the_past_takes_no_live_points() -> None:
    live = window(None, "minmax", 3600, 100, live=False)
    assert not live.add_change(change(1, flow=1.0))
    assert live.drain() == []
