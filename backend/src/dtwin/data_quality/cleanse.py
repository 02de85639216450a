"""The data-cleansing core (no I/O): per consumer batch, readings outside their sensor's physical range,
gaps in a machine's telemetry, late messages and each device's clock offset. Numbers in, verdicts out, state
in memory per process (data_quality/stage.py wires it to the consumer and the database).

Each backend process sees only the machines of the Kafka partitions it consumes (the key is the machine id),
so the per-machine state here is complete for every machine this process scores; after a rebalance or a
restart a machine's state starts afresh (a gap spanning that moment is not recorded, docs/data-quality.md)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from dtwin.contracts.telemetry import Telemetry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Range = tuple[float, float]

Rule = Literal["physical_range", "gap", "duplicate", "late", "clock_offset"]
RULES: tuple[Rule, ...] = ("physical_range", "gap", "duplicate", "late", "clock_offset")


class PhysicalRanges(Protocol):
    """Where the physical ranges come from (machine_types/ranges.py OperatingRanges): type -> sensor ->
    (lo, hi), an absent end as -inf/+inf; `physical_version` grows when the table changes."""

    @property
    def physical(self) -> Mapping[str, Mapping[str, Range]]: ...

    @property
    def physical_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class CleanseConfig:
    """The rules' settings (DTWIN_DATA_QUALITY_* in config.py, docs/operations.md)."""

    gap_factor: float = 5.0  # a gap: no message for longer than gap_factor x the machine's typical interval
    gap_floor_s: float = 10.0  # ... and never shorter than this
    lateness_s: float = 5.0  # late: older than the machine's newest timestamp by more than this
    clock_window_s: float = 60.0  # one clock-offset sample per machine and window: its smallest delay
    clock_windows: int = 15  # the estimate: median of the last windows' samples
    clock_offset_threshold_s: float = 2.0  # beyond this an offset counts (and is corrected, if asked)
    clock_correct: bool = False  # shift device timestamps by the estimate when it is beyond the threshold
    # ... but never by more than this: an "offset" of hours is a backfill or a replay of history, not a clock
    clock_max_correction_s: float = 3600.0
    interval_alpha: float = 0.1  # weight of a new inter-message interval in the typical interval (EWMA)


@dataclass(frozen=True, slots=True)
class Gap:
    machine_id: str
    start: float  # epoch seconds: the last message before the gap
    end: float  # the first message after it
    seconds: float


@dataclass(slots=True)
class Assessment:
    """What `assess` found in a batch before it is stored: per message index the sensors out of their
    physical range, and the device timestamps (epoch s, before any clock correction) and receive times
    that `commit` folds into the per-machine state once the batch is stored."""

    bad: dict[int, frozenset[str]]
    machine_ids: list[str]
    ts: F64
    recv: F64
    corrected: int = 0  # messages whose timestamp was shifted by the clock correction


@dataclass(slots=True)
class Findings:
    """What `commit` found: per machine and rule the counts (readings for physical_range, gap events for
    gap, messages for late and clock_offset), and the gaps."""

    counts: dict[tuple[str, Rule], int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    def add(self, machine_id: str, rule: Rule, n: int = 1) -> None:
        key = (machine_id, rule)
        self.counts[key] = self.counts.get(key, 0) + n


class _Machines:
    """Per-machine state as parallel arrays indexed by a slot per machine id (grown by doubling)."""

    def __init__(self, windows: int, capacity: int = 64) -> None:
        self.slot: dict[str, int] = {}
        self.ids: list[str] = []
        self.windows = windows
        self.capacity = capacity
        nan = math.nan
        self.newest = np.full(capacity, nan)  # newest device timestamp seen (epoch s)
        self.interval = np.full(capacity, nan)  # typical interval between messages (EWMA, s)
        self.win_start = np.full(capacity, nan)  # receive time the current clock window began
        self.win_min = np.full(capacity, nan)  # the current window's smallest delay so far
        self.minima = np.full((capacity, windows), nan)  # the last closed windows' smallest delays (a ring)
        self.ring = np.zeros(capacity, dtype=np.int64)  # closed windows so far (ring position)
        self.offset = np.full(capacity, nan)  # the current clock-offset estimate (s)
        self.touched = np.zeros(capacity, dtype=bool)  # estimate changed since `offsets()` last read it

    def _grow(self, n: int) -> None:
        old = self.capacity

        def grown(a: npt.NDArray[np.generic], fill: object) -> npt.NDArray[np.generic]:
            out = np.full((n, *a.shape[1:]), fill, dtype=a.dtype)
            out[:old] = a
            return out

        for name in ("newest", "interval", "win_start", "win_min", "minima", "offset"):
            setattr(self, name, grown(getattr(self, name), math.nan))
        self.ring = np.concatenate([self.ring, np.zeros(n - old, dtype=np.int64)])
        self.touched = np.concatenate([self.touched, np.zeros(n - old, dtype=bool)])
        self.capacity = n

    def slots(self, machine_ids: Sequence[str]) -> I64:
        get = self.slot.get
        out = np.empty(len(machine_ids), dtype=np.int64)
        for i, m in enumerate(machine_ids):  # one dict lookup per message
            s = get(m)
            if s is None:
                s = self.slot[m] = len(self.ids)
                self.ids.append(m)
            out[i] = s
        if len(self.ids) > self.capacity:
            self._grow(max(2 * self.capacity, len(self.ids)))
        return out

    def forget(self, machine_id: str) -> None:
        """A machine removed: its state is reset (its slot is kept for simplicity)."""
        s = self.slot.get(machine_id)
        if s is not None:
            for a in (self.newest, self.interval, self.win_start, self.win_min, self.offset):
                a[s] = math.nan
            self.minima[s] = math.nan


class Cleanser:
    """The rules, for one consumer. `assess` (before the batch is stored: physical ranges, clock
    correction) changes no state, so a batch retried after an infrastructure failure is assessed the same
    way; `commit` (once the batch is stored) advances the per-machine state and returns the findings."""

    def __init__(self, config: CleanseConfig | None = None, physical: PhysicalRanges | None = None) -> None:
        self.config = config or CleanseConfig()
        self.physical = physical
        self.m = _Machines(self.config.clock_windows)
        self._limits: dict[tuple[str, tuple[str, ...]], tuple[F64, F64] | None] = {}
        self._limits_version = -1
        self._types: dict[str, str] = {}  # machine -> its last named type (for messages saying "unknown")

    # ---------------------------------------------------------------------------------------- assess
    def _bounds(self, machine_type: str, keys: tuple[str, ...]) -> tuple[F64, F64] | None:
        phys = self.physical
        assert phys is not None
        if phys.physical_version != self._limits_version:
            self._limits.clear()
            self._limits_version = phys.physical_version
        key = (machine_type, keys)
        if key in self._limits:
            return self._limits[key]
        table = phys.physical.get(machine_type)
        out: tuple[F64, F64] | None = None
        if table and any(k in table for k in keys):
            lo = np.array([table.get(k, (-math.inf, math.inf))[0] for k in keys], dtype=np.float64)
            hi = np.array([table.get(k, (-math.inf, math.inf))[1] for k in keys], dtype=np.float64)
            out = (lo, hi)
        if len(self._limits) < 100_000:  # bounded: a device inventing sensor sets cannot grow it forever
            self._limits[key] = out
        return out

    def out_of_range(self, items: Sequence[Telemetry]) -> dict[int, frozenset[str]]:
        """Per message index, the sensors whose value is outside their physical range (vectorised over the
        batch: one list extend per message, one comparison for all readings)."""
        if self.physical is None:
            return {}
        types = self._types
        idx: list[int] = []
        counts: list[int] = []
        values: list[float] = []
        los: list[F64] = []
        his: list[F64] = []
        for i, t in enumerate(items):
            mtype = t.machine_type
            if mtype == "unknown":
                mtype = types.get(t.machine_id, mtype)
            elif types.get(t.machine_id) != mtype:
                types[t.machine_id] = mtype
            if t.quality == "bad":
                continue  # the device said so already
            b = self._bounds(mtype, tuple(t.readings))
            if b is None:
                continue
            idx.append(i)
            counts.append(len(t.readings))
            values.extend(t.readings.values())
            los.append(b[0])
            his.append(b[1])
        if not idx:
            return {}
        v = np.asarray(values, dtype=np.float64)
        outside = (v < np.concatenate(los)) | (v > np.concatenate(his))
        if not outside.any():
            return {}
        rows = np.repeat(np.asarray(idx, dtype=np.int64), counts)
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        pos = np.repeat(starts, counts)
        bad: dict[int, set[str]] = {}
        for k in np.flatnonzero(outside).tolist():  # rare: only the violations
            i = int(rows[k])
            keys = tuple(items[i].readings)
            bad.setdefault(i, set()).add(keys[k - int(pos[k])])
        return {i: frozenset(s) for i, s in bad.items()}

    def assess(self, items: Sequence[Telemetry], recv: Sequence[float]) -> Assessment:
        """Flag readings outside their physical range and, with `clock_correct`, shift the timestamps of
        machines whose estimated clock offset is beyond the threshold (in place, on `items`)."""
        machine_ids = [t.machine_id for t in items]
        ts = np.fromiter((t.ts.timestamp() for t in items), dtype=np.float64, count=len(items))
        a = Assessment(self.out_of_range(items), machine_ids, ts, np.asarray(recv, dtype=np.float64))
        cfg = self.config
        if cfg.clock_correct and items:
            known = self.m.slot
            for t in items:
                s = known.get(t.machine_id)
                if s is None:
                    continue
                off = float(self.m.offset[s])
                if cfg.clock_offset_threshold_s < abs(off) <= cfg.clock_max_correction_s:
                    t.ts = t.ts + timedelta(seconds=off)
                    a.corrected += 1
        return a

    # ---------------------------------------------------------------------------------------- commit
    def commit(self, a: Assessment) -> Findings:
        """Fold a stored batch into the per-machine state: late messages, gaps (recorded when the machine
        resumes), typical intervals, clock offsets; and the physical-range counts."""
        out = Findings()
        for i, sensors in a.bad.items():
            out.add(a.machine_ids[i], "physical_range", len(sensors))
        n = len(a.machine_ids)
        if n == 0:
            return out
        m, cfg = self.m, self.config
        slots = m.slots(a.machine_ids)
        ts, recv = a.ts, a.recv
        late = np.zeros(n, dtype=bool)
        # the r-th message of every machine in the batch at once (arrival order within a machine)
        order = np.argsort(slots, kind="stable")
        ordered = slots[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        group = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, n]))
        rank = np.arange(n) - starts[group]
        for r in range(int(rank.max()) + 1):
            sel = order[rank == r]
            s, t = slots[sel], ts[sel]
            prev = m.newest[s]
            seen = np.isfinite(prev)
            late[sel] = seen & (t < prev - cfg.lateness_s)
            delta = t - prev
            interval = m.interval[s]
            limit = np.fmax(cfg.gap_factor * interval, cfg.gap_floor_s)
            gap = seen & np.isfinite(interval) & (delta > limit)
            for k in np.flatnonzero(gap).tolist():  # rare
                mid = m.ids[int(s[k])]
                out.gaps.append(Gap(mid, float(prev[k]), float(t[k]), float(delta[k])))
                out.add(mid, "gap")
            step = seen & (delta > 0)
            # a gap adapts the typical interval too, clipped at the gap limit: a machine that slows down
            # for good is followed (after a few gap events) instead of raising one per message forever
            d = np.where(gap, np.where(np.isfinite(limit), limit, delta), delta)
            new = np.where(np.isfinite(interval), interval + cfg.interval_alpha * (d - interval), d)
            m.interval[s] = np.where(step, new, interval)
            m.newest[s] = np.fmax(prev, t)
        for k in np.flatnonzero(late).tolist():  # rare
            out.add(a.machine_ids[k], "late")
        self._clock(slots, recv - ts, recv, out)
        return out

    def _clock(self, slots: I64, delay: F64, recv: F64, out: Findings) -> None:
        """Per machine the smallest (receive time - device time) of each window: the true offset plus the
        smallest transport delay, robust to queued, late and redelivered messages (their delay is larger).
        The estimate is the median of the last `clock_windows` window minima and the current window's."""
        m, cfg = self.m, self.config
        touched = np.unique(slots)
        batch_min = np.full(m.capacity, np.inf)
        np.minimum.at(batch_min, slots, delay)
        batch_recv = np.full(m.capacity, -np.inf)
        np.maximum.at(batch_recv, slots, recv)
        bm, br = batch_min[touched], batch_recv[touched]
        start = m.win_start[touched]
        fresh = ~np.isfinite(start)
        closed = ~fresh & (br - start >= cfg.clock_window_s)
        for s in touched[closed].tolist():  # once per machine and window
            m.minima[s, m.ring[s] % cfg.clock_windows] = m.win_min[s]
            m.ring[s] += 1
        restart = fresh | closed
        m.win_start[touched] = np.where(restart, br, start)
        m.win_min[touched] = np.where(restart, bm, np.fmin(m.win_min[touched], bm))
        samples = np.concatenate([m.minima[touched], m.win_min[touched][:, None]], axis=1)
        est = np.nanmedian(samples, axis=1)
        m.offset[touched] = est
        m.touched[touched] = True
        beyond = touched[np.abs(est) > cfg.clock_offset_threshold_s]
        if beyond.shape[0]:
            per = np.bincount(slots, minlength=m.capacity)
            for s in beyond.tolist():  # machines whose clock is off: once per machine and batch
                out.add(m.ids[s], "clock_offset", int(per[s]))

    # ---------------------------------------------------------------------------------------- reading
    def offsets(self) -> list[tuple[str, float, int]]:
        """(machine, estimate s, samples) of the machines whose estimate changed since the last call."""
        m = self.m
        touched = np.flatnonzero(m.touched[: len(m.ids)])
        m.touched[:] = False
        windows = np.isfinite(m.minima[touched]).sum(axis=1) + np.isfinite(m.win_min[touched])
        return [
            (m.ids[s], float(m.offset[s]), int(w))
            for s, w in zip(touched.tolist(), windows.tolist(), strict=True)
            if math.isfinite(m.offset[s])
        ]

    def offset_of(self, machine_id: str) -> float | None:
        s = self.m.slot.get(machine_id)
        if s is None or not math.isfinite(self.m.offset[s]):
            return None
        return float(self.m.offset[s])

    def interval_of(self, machine_id: str) -> float | None:
        s = self.m.slot.get(machine_id)
        if s is None or not math.isfinite(self.m.interval[s]):
            return None
        return float(self.m.interval[s])

    def forget(self, machine_id: str) -> None:
        self.m.forget(machine_id)
        self._types.pop(machine_id, None)
