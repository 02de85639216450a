"""Event-level evaluation of scores against ground-truth fault events: precision, recall, F1 and median
detection delay per fault kind. Pure function over arrays; no I/O."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dtwin.anomalies.scan import F64, Bool


def _seconds(t: float | datetime) -> float:
    return t.timestamp() if isinstance(t, datetime) else float(t)


@dataclass(frozen=True, slots=True)
class GroundTruthEvent:
    """A known fault: on `machine_id` (None: any), on `sensor` (None: the machine as a whole), from `start`
    to `end` (epoch seconds or aware datetimes)."""

    machine_id: str | None
    sensor: str | None
    kind: str
    start: float | datetime
    end: float | datetime


@dataclass(frozen=True, slots=True)
class KindReport:
    kind: str
    events: int
    detected: int
    false_alarms: int  # alarm episodes outside every event window (shared by all kinds)
    precision: float
    recall: float
    f1: float
    median_delay_s: float | None  # first alarm in the window minus the event start, over detected events


@dataclass(frozen=True)
class EvaluationReport:
    threshold: float
    grace_s: float
    alarm_episodes: int
    false_alarms: int
    overall: KindReport
    kinds: dict[str, KindReport]


def _report(kind: str, events: int, delays: list[float], false_alarms: int) -> KindReport:
    tp = len(delays)
    precision = tp / (tp + false_alarms) if tp + false_alarms else 0.0
    recall = tp / events if events else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return KindReport(
        kind, events, tp, false_alarms, precision, recall, f1, statistics.median(delays) if delays else None
    )


def evaluate(
    ts: Sequence[float] | F64,
    scores: Sequence[float] | F64,
    events: Sequence[GroundTruthEvent],
    *,
    machine_ids: Sequence[str] | None = None,
    sensors: Sequence[str | None] | None = None,
    threshold: float = 0.5,
    grace_s: float = 60.0,
    merge_gap_s: float = 0.0,
) -> EvaluationReport:
    """Score samples (epoch seconds `ts`, `scores`, optionally the machine and sensor of each sample; omit
    them for one series or per-row scores) against `events`.

    An event is detected if a sample of its machine (and sensor, when both sides name one) scores at or above
    `threshold` within [start, end + grace_s]; the delay is from `start` to that first alarm. Alarms are
    grouped into episodes (consecutive alarming samples of one series; with `merge_gap_s` > 0, alarms of a
    series at most that far apart, as an operator sees one flickering alarm as one); an episode overlapping no
    window of a matching event is a false alarm. False alarms cannot be attributed to a fault kind, so every
    kind's precision is detected / (detected + all false alarms)."""
    t = np.asarray(ts, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    n = t.shape[0]
    machines = np.asarray(machine_ids if machine_ids is not None else [""] * n, dtype=object)
    sens = np.asarray(sensors if sensors is not None else [None] * n, dtype=object)
    keys = np.array(
        [f"{m}\x00{x}" for m, x in zip(machines.tolist(), sens.tolist(), strict=True)], dtype=object
    )
    uniq, key_idx = np.unique(keys, return_inverse=True)
    order = np.lexsort((t, key_idx))
    t, s, key_idx = t[order], s[order], key_idx[order]
    key_machine = [str(k).split("\x00", 1)[0] for k in uniq.tolist()]
    key_sensor = [str(k).split("\x00", 1)[1] for k in uniq.tolist()]
    alarm: Bool = s >= threshold

    # alarm episodes: runs of alarming samples within a series (or alarms at most merge_gap_s apart)
    if merge_gap_s > 0:
        ai = np.flatnonzero(alarm)
        ka, ta = key_idx[ai], t[ai]
        new = np.ones(ai.shape[0], dtype=np.bool_)
        new[1:] = (ka[1:] != ka[:-1]) | (ta[1:] - ta[:-1] > merge_gap_s)
        last = np.append(new[1:], True) if ai.shape[0] else new  # no alarm at all: no episode
        ep_key, ep_t0, ep_t1 = ka[new], ta[new], ta[last]
    else:
        start_ep = alarm & np.concatenate(([True], ~alarm[:-1] | (key_idx[1:] != key_idx[:-1])))
        end_ep = alarm & np.concatenate((~alarm[1:] | (key_idx[1:] != key_idx[:-1]), [True]))
        ep_key, ep_t0, ep_t1 = key_idx[start_ep], t[start_ep], t[end_ep]
    ep_true = np.zeros(ep_key.shape[0], dtype=np.bool_)
    bounds = np.searchsorted(key_idx, np.arange(len(uniq) + 1))

    delays: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for ev in events:
        w0, w1 = _seconds(ev.start), _seconds(ev.end) + grace_s
        counts[ev.kind] = counts.get(ev.kind, 0) + 1
        first = math.inf
        for k in range(len(uniq)):
            if machine_ids is not None and ev.machine_id is not None and key_machine[k] != ev.machine_id:
                continue
            if sensors is not None and ev.sensor is not None and key_sensor[k] != ev.sensor:
                continue
            lo, hi = int(bounds[k]), int(bounds[k + 1])
            a, b = (
                lo + int(np.searchsorted(t[lo:hi], w0)),
                lo + int(np.searchsorted(t[lo:hi], w1, side="right")),
            )
            hit = np.flatnonzero(alarm[a:b])
            if hit.shape[0]:
                first = min(first, float(t[a + hit[0]]))
            ep_true |= (ep_key == k) & (ep_t0 <= w1) & (ep_t1 >= w0)
        if math.isfinite(first):
            delays.setdefault(ev.kind, []).append(max(first - w0, 0.0))
    false_alarms = int(np.count_nonzero(~ep_true))
    kinds = {k: _report(k, counts[k], delays.get(k, []), false_alarms) for k in sorted(counts)}
    all_delays = [d for ds in delays.values() for d in ds]
    return EvaluationReport(
        threshold=threshold,
        grace_s=grace_s,
        alarm_episodes=int(ep_key.shape[0]),
        false_alarms=false_alarms,
        overall=_report("all", len(events), all_delays, false_alarms),
        kinds=kinds,
    )
