"""The live part of a WebSocket `series` subscription: one machine's new readings, reduced per pixel column
of the subscriber's chart, so a chart streams at most about one point (LTTB) or one min/max pair (minmax) per
pixel whatever the machine's rate. Memory per subscription is bounded by sensors x pixel columns pending."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dtwin.contracts.changes import ReportedChange, WholeTwinChange
from dtwin.contracts.telemetry import iso_utc


@dataclass
class _Column:
    """Readings of one sensor in one pixel column: extremes for minmax, sums for the mean (LTTB)."""

    count: int = 0
    sum_t: float = 0.0
    sum_v: float = 0.0
    lo: tuple[float, float] = (math.inf, math.inf)  # (value, t) of the minimum
    hi: tuple[float, float] = (-math.inf, -math.inf)  # (value, t) of the maximum

    def add(self, t: float, v: float) -> None:
        self.count += 1
        self.sum_t += t
        self.sum_v += v
        if v < self.lo[0]:
            self.lo = (v, t)
        if v > self.hi[0]:
            self.hi = (v, t)

    def points(self, method: str) -> list[tuple[float, float]]:
        if self.count == 1 or (method == "minmax" and self.lo[1] == self.hi[1]):
            return [(self.hi[1], self.hi[0])]
        if method == "minmax":
            return sorted([(self.lo[1], self.lo[0]), (self.hi[1], self.hi[0])])
        return [(self.sum_t / self.count, self.sum_v / self.count)]


@dataclass
class LiveSeries:
    machine_id: str
    sensors: frozenset[str] | None
    method: Literal["lttb", "minmax"]
    start: datetime
    end: datetime | None
    """None: the window runs to now and new readings are appended; else nothing is appended."""
    width: int
    pixel_s: float
    """Seconds per pixel column: the window's span (at subscription) / the chart's width."""
    newest: dict[str, float] = field(default_factory=dict)
    """Newest time per sensor already sent (snapshot or update): older readings are not sent again."""
    pending: dict[str, dict[int, _Column]] = field(default_factory=dict)

    @classmethod
    def for_window(
        cls,
        machine_id: str,
        sensors: Collection[str] | None,
        method: Literal["lttb", "minmax"],
        start: datetime,
        end: datetime | None,
        width: int,
    ) -> LiveSeries:
        span = (end or datetime.now(UTC)) - start
        return cls(
            machine_id,
            frozenset(sensors) if sensors else None,
            method,
            start,
            end,
            width,
            max(span / timedelta(seconds=1), 1e-3) / width,
        )

    @property
    def live(self) -> bool:
        return self.end is None

    def seed(self, sensors: Mapping[str, Any]) -> None:
        """The snapshot sent these series (`{sensor: {"t": [...]}}`): continue after their newest point."""

        for sensor, points in sensors.items():
            times = points["t"] if isinstance(points, Mapping) else points.t
            if times:
                last = times[-1]
                self.newest[sensor] = last.timestamp() if isinstance(last, datetime) else _seconds(str(last))

    def add_change(self, change: ReportedChange | WholeTwinChange) -> bool:
        """Takes the readings of a `twins` change of this machine; returns whether anything is pending."""
        if not self.live or change.id != self.machine_id:
            return bool(self.pending)
        readings, ts = change.readings, change.ts
        if not readings or not ts:
            return bool(self.pending)
        t = _seconds(ts)
        for sensor, value in readings.items():
            if self.sensors is not None and sensor not in self.sensors:
                continue
            if not isinstance(value, int | float) or t <= self.newest.get(sensor, -math.inf):
                continue
            self.newest[sensor] = t
            column = int(t // self.pixel_s)
            self.pending.setdefault(sensor, {}).setdefault(column, _Column()).add(t, float(value))
        return bool(self.pending)

    def drain(self) -> list[dict[str, Any]]:
        """The pending points as update items `{"sensor", "t": [ISO 8601...], "v": [...]}`, in time order."""
        out: list[dict[str, Any]] = []
        for sensor, columns in sorted(self.pending.items()):
            t: list[str] = []
            v: list[float] = []
            for column in sorted(columns):
                for at, value in columns[column].points(self.method):
                    t.append(iso_utc(datetime.fromtimestamp(at, UTC)))
                    v.append(value)
            out.append({"sensor": sensor, "t": t, "v": v})
        self.pending.clear()
        return out


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
