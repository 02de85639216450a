"""Where things live in the scorer's state arrays: (machine_id, sensor) -> series slot, machine_id -> machine
slot, and per machine type the table machine x sensor -> series slot that builds feature vectors."""

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


class SeriesIndex:
    """Maps (machine_id, sensor) to a slot in the growable per-series arrays and machine ids to machine
    slots. A machine keeps the type it was first seen with. `on_new_series` lets the owner initialise the
    state of a new slot (its operating limits)."""

    def __init__(self, on_new_series: NewSeries | None = None) -> None:
        self._series: dict[tuple[str, str], int] = {}
        self._machines: dict[str, int] = {}
        self._types: dict[str, TypeInfo] = {}
        self.types: list[TypeInfo] = []
        self.machine_ids: list[str] = []
        self.machine_type = np.zeros(0, dtype=np.int64)  # type index per machine slot
        self.machine_trow = np.zeros(0, dtype=np.int64)  # row in the type's table per machine slot
        self.machine_nseries = np.zeros(0, dtype=np.int64)
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
        self.machine_type[m] = info.index
        self.machine_trow[m] = info.add_machine(m)
        return m

    def ensure_series(self, machine_id: str, machine_type: str, sensor: str) -> int:
        slot = self._series.get((machine_id, sensor))
        if slot is not None:
            return slot
        m = self.ensure_machine(machine_id, machine_type)
        info = self.types[int(self.machine_type[m])]
        f = info.feature.get(sensor)
        if f is None:
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
        """Slots of a machine's sensors, in the given order (registering new ones)."""
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
