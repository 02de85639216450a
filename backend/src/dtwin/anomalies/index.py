"""Where things live in the scorer's state arrays: (machine_id, sensor) -> series slot, machine_id -> machine
slot, and per machine type the table machine x sensor -> series slot that builds feature vectors. Machines
are detached (removed, silent) at once and their slots reclaimed by a compaction that renumbers the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from dtwin.anomalies.scan import I64

G = TypeVar("G", bound=np.generic)


def grow_1d(arr: npt.NDArray[G], size: int, fill: float | int) -> npt.NDArray[G]:
    """`arr` with capacity for at least `size` elements (doubling), new cells set to `fill`."""
    if size <= arr.shape[0]:
        return arr
    cap = max(size, 2 * arr.shape[0], 16)
    out = np.full((cap, *arr.shape[1:]), fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@dataclass
class TypeInfo:
    """One machine type: its sensors (feature order) and the machine x feature -> series slot table."""

    name: str
    index: int
    sensors: list[str] = field(default_factory=list)
    feature: dict[str, int] = field(default_factory=dict)
    machines: list[int] = field(default_factory=list)  # machine slots, by row in `slots`
    slots: I64 = field(default_factory=lambda: np.full((0, 0), -1, dtype=np.int64))

    def add_sensor(self, sensor: str) -> int:
        f = len(self.sensors)
        self.sensors.append(sensor)
        self.feature[sensor] = f
        if self.slots.shape[1] <= f:
            cols = max(f + 1, 2 * self.slots.shape[1], 4)
            wider = np.full((self.slots.shape[0], cols), -1, dtype=np.int64)
            wider[:, : self.slots.shape[1]] = self.slots
            self.slots = wider
        return f

    def add_machine(self, machine: int) -> int:
        row = len(self.machines)
        self.machines.append(machine)
        if self.slots.shape[0] <= row:
            rows = max(row + 1, 2 * self.slots.shape[0], 16)
            taller = np.full((rows, self.slots.shape[1]), -1, dtype=np.int64)
            taller[: self.slots.shape[0]] = self.slots
            self.slots = taller
        return row

    @property
    def n_features(self) -> int:
        return len(self.sensors)

    def table(self) -> I64:
        """machine row x feature -> series slot (-1 when that machine never sent that sensor)."""
        return self.slots[: len(self.machines), : len(self.sensors)]


NewSeries = Callable[[int, str, str], None]  # (slot, machine_type, sensor)

REFUSED = -1  # the slot of a series beyond its type's sensor limit (never stored, never scored)
UNSCORED = -2  # the slot of a series its type says is not scored (a cumulative counter): never stored


@dataclass(frozen=True, slots=True)
class Remap:
    """What `SeriesIndex.compact` kept, as old positions in their new order: the owner gathers its state
    arrays with these (`state.take(remap.series)`) so they line up with the renumbered index again."""

    series: I64  # old series slots
    machines: I64  # old machine slots
    types: list[int]  # old type indices
    rows: list[I64]  # per new type index: the old rows of its table that were kept


class SeriesIndex:
    """Maps (machine_id, sensor) to a slot in the growable per-series arrays and machine ids to machine
    slots. A machine keeps the type it was first seen with. `on_new_series` lets the owner initialise the
    state of a new slot (its operating limits).

    A type takes at most `max_features` distinct sensor names; a series with a further name is refused
    (slot `REFUSED`, counted in `refused_series`). A series `unscored(machine_type, sensor)` names (a
    cumulative counter such as an energy meter's kWh: it only rises, so every detector would flag it) gets
    slot `UNSCORED`, decided when its machine's message first names it. `detach` forgets a machine at once
    (its id and series resolve to nothing; a later message starts it afresh); its slots stay allocated,
    dead, until `compact`."""

    def __init__(
        self,
        on_new_series: NewSeries | None = None,
        max_features: int = 1 << 30,
        unscored: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._unscored = unscored
        self._series: dict[tuple[str, str], int] = {}
        self._machines: dict[str, int] = {}
        self._types: dict[str, TypeInfo] = {}
        self.types: list[TypeInfo] = []
        self.machine_ids: list[str] = []
        self.machine_type = np.zeros(0, dtype=np.int64)  # type index per machine slot
        self.machine_trow = np.zeros(0, dtype=np.int64)  # row in the type's table per machine slot
        self.machine_nseries = np.zeros(0, dtype=np.int64)
        self.machine_live = np.zeros(0, dtype=np.bool_)  # False once detached (until `compact`)
        self.n_dead = 0  # detached machine slots
        self.n_dead_series = 0  # ...and their series slots
        self.max_features = max_features
        self.refused_series = 0
        self.series_machine = np.zeros(0, dtype=np.int64)
        self.series_feature = np.zeros(0, dtype=np.int64)
        self.series_sensor: list[str] = []
        self._on_new_series = on_new_series
        # per machine: the sensor-name tuple last seen in a message and its slots (the hot path's cache)
        self.slot_cache: dict[str, tuple[tuple[str, ...], I64]] = {}

    @property
    def n_series(self) -> int:
        return len(self.series_sensor)

    @property
    def n_machines(self) -> int:
        return len(self.machine_ids)

    def type_info(self, machine_type: str) -> TypeInfo | None:
        return self._types.get(machine_type)

    def machine(self, machine_id: str) -> int | None:
        return self._machines.get(machine_id)

    def series(self, slot: int) -> tuple[str, str]:
        return self.machine_ids[int(self.series_machine[slot])], self.series_sensor[slot]

    def ensure_type(self, machine_type: str) -> TypeInfo:
        info = self._types.get(machine_type)
        if info is None:
            info = TypeInfo(machine_type, len(self.types))
            self._types[machine_type] = info
            self.types.append(info)
        return info

    def ensure_machine(self, machine_id: str, machine_type: str) -> int:
        m = self._machines.get(machine_id)
        if m is not None:
            return m
        info = self.ensure_type(machine_type)
        m = len(self.machine_ids)
        self.machine_ids.append(machine_id)
        self._machines[machine_id] = m
        self.machine_type = grow_1d(self.machine_type, m + 1, 0)
        self.machine_trow = grow_1d(self.machine_trow, m + 1, 0)
        self.machine_nseries = grow_1d(self.machine_nseries, m + 1, 0)
        self.machine_live = grow_1d(self.machine_live, m + 1, True)
        self.machine_live[m] = True
        self.machine_type[m] = info.index
        self.machine_trow[m] = info.add_machine(m)
        return m

    def ensure_series(self, machine_id: str, machine_type: str, sensor: str) -> int:
        slot = self._series.get((machine_id, sensor))
        if slot is not None:
            return slot
        m = self.ensure_machine(machine_id, machine_type)
        info = self.types[int(self.machine_type[m])]
        if self._unscored is not None and self._unscored(info.name, sensor):
            return UNSCORED
        f = info.feature.get(sensor)
        if f is None:
            if info.n_features >= self.max_features:
                self.refused_series += 1
                return REFUSED
            f = info.add_sensor(sensor)
        slot = len(self.series_sensor)
        self._series[(machine_id, sensor)] = slot
        self.series_sensor.append(sensor)
        self.series_machine = grow_1d(self.series_machine, slot + 1, 0)
        self.series_feature = grow_1d(self.series_feature, slot + 1, 0)
        self.series_machine[slot] = m
        self.series_feature[slot] = f
        self.machine_nseries[m] += 1
        info.slots[int(self.machine_trow[m]), f] = slot
        if self._on_new_series is not None:
            self._on_new_series(slot, info.name, sensor)
        return slot

    def slots_for(self, machine_id: str, machine_type: str, sensors: Sequence[str]) -> I64:
        """Slots of a machine's sensors, in the given order (registering new ones; `REFUSED` for a name
        beyond the type's sensor limit, `UNSCORED` for a series not scored)."""
        return np.array([self.ensure_series(machine_id, machine_type, s) for s in sensors], dtype=np.int64)

    def message_slots(self, machine_id: str, machine_type: str, keys: tuple[str, ...]) -> I64:
        """`slots_for` with a per-machine cache of the last sensor tuple: one dict lookup per message when a
        machine keeps sending the same sensors, which is the usual case."""
        cached = self.slot_cache.get(machine_id)
        if cached is not None and cached[0] == keys:
            return cached[1]
        slots = self.slots_for(machine_id, machine_type, keys)
        self.slot_cache[machine_id] = (keys, slots)
        return slots

    # ------------------------------------------------------------------ eviction
    def detach(self, machine_id: str) -> int | None:
        """Forget a machine now: its id, its series and its cached slots no longer resolve. Returns its
        slot (None if unknown); the slot's state stays allocated, dead, until `compact`."""
        m = self._machines.pop(machine_id, None)
        if m is None:
            return None
        self.slot_cache.pop(machine_id, None)
        info = self.types[int(self.machine_type[m])]
        row = info.slots[int(self.machine_trow[m]), : info.n_features]
        for s in row[row >= 0].tolist():
            del self._series[(machine_id, self.series_sensor[s])]
        self.machine_live[m] = False
        self.n_dead += 1
        self.n_dead_series += int(self.machine_nseries[m])
        return m

    def compact(self, keep_types: set[int]) -> Remap:
        """Drop the detached machines, their series and their table rows, and the types left without a live
        machine (except those in `keep_types`: types with an installed model keep their sensor order);
        renumber what is kept densely, in its old order. The owner must gather its arrays with the result."""
        n_m, n_s = self.n_machines, self.n_series
        live = self.machine_live[:n_m]
        mkeep = np.flatnonzero(live)
        mmap = np.full(n_m, -1, dtype=np.int64)
        mmap[mkeep] = np.arange(mkeep.shape[0])
        skeep = np.flatnonzero(live[self.series_machine[:n_s]])
        smap = np.full(n_s + 1, -1, dtype=np.int64)  # the extra last cell maps -1 (no series) to -1
        smap[skeep] = np.arange(skeep.shape[0])
        used = np.zeros(len(self.types), dtype=np.bool_)
        used[self.machine_type[mkeep]] = True
        tkeep = [t for t in range(len(self.types)) if used[t] or t in keep_types]
        tmap = np.full(len(self.types), -1, dtype=np.int64)
        tmap[tkeep] = np.arange(len(tkeep))

        trow = np.zeros(mkeep.shape[0], dtype=np.int64)
        rows_kept: list[I64] = []
        types: list[TypeInfo] = []
        for new, old in enumerate(tkeep):
            info = self.types[old]
            members = np.asarray(info.machines, dtype=np.int64)
            rows = np.flatnonzero(live[members]) if members.shape[0] else members
            kept = mmap[members[rows]]
            trow[kept] = np.arange(rows.shape[0])
            info.index = new
            info.machines = kept.tolist()
            info.slots = smap[info.slots[rows]]
            rows_kept.append(rows)
            types.append(info)

        self.types = types
        self._types = {t.name: t for t in types}
        self.machine_ids = [self.machine_ids[m] for m in mkeep.tolist()]
        self._machines = {machine_id: m for m, machine_id in enumerate(self.machine_ids)}
        self.machine_type = tmap[self.machine_type[mkeep]]
        self.machine_trow = trow
        self.machine_nseries = self.machine_nseries[mkeep]
        self.machine_live = np.ones(mkeep.shape[0], dtype=np.bool_)
        self.series_machine = mmap[self.series_machine[skeep]]
        self.series_feature = self.series_feature[skeep]
        self.series_sensor = [self.series_sensor[s] for s in skeep.tolist()]
        ids, owners = self.machine_ids, self.series_machine.tolist()
        self._series = {
            (ids[m], sensor): slot
            for slot, (m, sensor) in enumerate(zip(owners, self.series_sensor, strict=True))
        }
        self.slot_cache = {
            machine_id: (keys, smap[slots]) for machine_id, (keys, slots) in self.slot_cache.items()
        }
        self.n_dead = self.n_dead_series = 0
        return Remap(skeep, mkeep, tkeep, rows_kept)
