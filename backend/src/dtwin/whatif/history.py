"""A machine's history as the predictor reads it (pure, no I/O): its reported settings over time, from the
`settings` entries of the twin change log, cut into spans of constant settings, and the steady part of each
span (after the type's `settle_s`). The readings room averages each sensor over those steady parts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MIN_STEADY_S = 30.0  # a steady part shorter than this is left out (too few readings to be a level)
MIN_READINGS = 5  # readings a steady mean needs


@dataclass(frozen=True, slots=True)
class Change:
    """One `settings` entry: the device time of the change (the newest of its settings' times, so the span
    after it has every one of them) and the values; `unsure_since`: a coalesced entry's first held change
    (values between then and `ts` are not in the log)."""

    ts: datetime
    values: dict[str, Any]
    unsure_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A steady part of a span of constant settings: [start, end) and the settings then."""

    start: datetime
    end: datetime
    settings: dict[str, Any]


def change_of(details: dict[str, Any], ts: datetime) -> Change:
    """A Change from a `settings` entry's details (twins/events.py SettingsLog)."""
    times = [datetime.fromisoformat(t) for t in (details.get("times") or {}).values()]
    held = [datetime.fromisoformat(t) for t in (details.get("held_since") or {}).values()]
    values = dict(details.get("settings") or {})
    return Change(ts=max(times, default=ts), values=values, unsure_since=min(held, default=None))


def steady_spans(
    changes: Iterable[Change],
    settle_s: float,
    until: datetime,
    *,
    since: datetime | None = None,
    min_steady_s: float = MIN_STEADY_S,
    newest: int | None = None,
) -> list[Span]:
    """The steady parts of the spans the changes cut (oldest first; at most the `newest` ones): from
    `settle_s` after a change to the next change (or `until`), at least `min_steady_s` long, starting no
    earlier than `since`. A span a coalesced entry makes unsure ends where its held changes began; an
    entry that repeats the settings in force (the change log logs them again after an hour) cuts nothing."""
    ordered = sorted(changes, key=lambda c: c.ts)
    state: dict[str, Any] = {}
    out: list[Span] = []
    settle = timedelta(seconds=settle_s)

    def close(start: datetime, end: datetime) -> None:
        begin = start + settle
        if since is not None:
            begin = max(begin, since)
        if state and (end - begin).total_seconds() >= min_steady_s:
            out.append(Span(begin, end, dict(state)))

    start: datetime | None = None
    for c in ordered:
        repeated = all(_same(state.get(k), v) for k, v in c.values.items())
        if start is not None and c.unsure_since is None and repeated:
            continue  # logged again unchanged (the change log re-logs settings hourly): no new span
        if start is not None:
            close(start, min(c.ts, c.unsure_since) if c.unsure_since is not None else c.ts)
        state.update(c.values)
        start = c.ts
    if start is not None:
        close(start, until)
    return out[-newest:] if newest else out


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)


def numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def features(settings: dict[str, Any], names: Sequence[str]) -> tuple[float, ...] | None:
    """The named settings as numbers, in order; None if one is missing or not a number."""
    out = []
    for n in names:
        v = numeric(settings.get(n))
        if v is None:
            return None
        out.append(v)
    return tuple(out)
