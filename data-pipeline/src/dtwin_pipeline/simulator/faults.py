"""Fault injection with ground truth. Physical faults (wear, fouling, misalignment, leak, seizure) set levels
in the physics state; sensor faults (stuck, drift, dropout, spikes) change one sensor's output; data-quality
faults (duplicate, out-of-order, late, missing messages, a reading in the wrong unit) change the message
stream; counter faults (reset, rollover, meter replacement) act once on an energy meter's register. Every
fault is logged when it becomes active, so detectors can be scored against the log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import orjson

from dtwin.contracts.telemetry import iso_utc
from dtwin_pipeline.simulator.fault_kinds import (
    FAULT_KINDS,
    FaultKind,
    FaultKindName,
    FaultSpec,
    Param,
    RandomFaults,
    default_sensor,
    resolve_params,
)
from dtwin_pipeline.simulator.machines import MachineType
from dtwin_pipeline.simulator.physics import TypeFleet

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultEngine",
    "FaultKind",
    "FaultKindName",
    "FaultSpec",
    "GroundTruthLog",
    "RandomFaults",
    "Target",
    "as_fault",
    "read_ground_truth",
]


@dataclass
class Fault:
    id: str
    machine_id: str
    kind: str
    sensor: str
    start_s: float
    end_s: float
    params: dict[str, Param]
    source: Literal["scheduled", "random"]
    group: int = 0
    index: int = 0
    row: int = -1  # sensor row in the group's value matrix
    stuck_value: float | None = None

    def level(self, t: float) -> float:
        severity = float(self.params.get("severity", 1.0))
        if FAULT_KINDS[self.kind].gradual:
            return severity * min(max((t - self.start_s) / (self.end_s - self.start_s), 0.0), 1.0)
        return severity


@dataclass
class Target:
    """Where a machine lives in the fleet: group index, index in the group, its type."""

    machine_id: str
    group: int
    index: int
    mtype: MachineType


@dataclass
class _Held:
    release_s: float
    order: int
    item: object


class FaultEngine:
    """Activates scheduled and random faults as simulated time passes and applies the active ones.

    Its own random stream (`rng`) is separate from the physics streams, so a faulted run and a healthy run
    with the same seed produce the same physics up to the fault's effect."""

    def __init__(
        self,
        targets: dict[str, Target],
        groups: Sequence[TypeFleet],
        scheduled: Iterable[Fault],
        random: RandomFaults | None,
        rng: np.random.Generator,
        on_event: Callable[[dict[str, object]], None] | None = None,
    ) -> None:
        self.targets = targets
        self.groups = groups
        self.pending = sorted(scheduled, key=lambda f: (f.start_s, f.id))
        self.random = random
        self.rng = rng
        self.on_event = on_event
        self.active: list[Fault] = []
        self.events: list[dict[str, object]] = []
        self.t0: datetime | None = None
        self._ids = list(targets)
        self._n_random = 0
        self._held: list[_Held] = []
        self._held_order = 0
        self._physical: dict[int, list[Fault]] = {}
        self._sensor: dict[int, list[Fault]] = {}
        self._dq: dict[int, dict[int, list[Fault]]] = {}

    # ------------------------------------------------------------------------------------------- timeline
    def advance(self, t: float, dt: float) -> None:
        """Move to elapsed time t: end faults whose window closed, start due ones, inject random ones."""
        changed = False
        if self.active and any(f.end_s <= t for f in self.active):
            self.active = [f for f in self.active if f.end_s > t]
            changed = True
        while self.pending and self.pending[0].start_s <= t:
            f = self.pending.pop(0)
            if f.end_s > t:
                self._activate(f)
                changed = True
        if self.random is not None and self.random.rate_per_machine_hour > 0 and self._ids:
            changed |= self._inject_random(t, dt)
        if changed:
            self._index()

    def _inject_random(self, t: float, dt: float) -> bool:
        assert self.random is not None
        lam = self.random.rate_per_machine_hour * len(self._ids) * dt / 3600.0
        count = int(self.rng.poisson(lam))
        for _ in range(count):
            machine_id = self._ids[int(self.rng.integers(len(self._ids)))]
            target = self.targets[machine_id]
            kind = self.random.kinds[int(self.rng.integers(len(self.random.kinds)))]
            lo, hi = self.random.duration_s
            duration = float(self.rng.uniform(min(lo, hi), max(lo, hi)))
            sensor_draw = int(self.rng.integers(len(target.mtype.sensors)))
            spec = FAULT_KINDS[kind]
            if spec.category == "physical" and kind not in target.mtype.faults:
                continue
            if spec.category == "counter" and target.mtype.counter is None:
                continue
            sensor = target.mtype.sensors[sensor_draw].name if spec.sensor == "required" else ""
            if spec.sensor == "optional":
                sensor = default_sensor(kind, target.mtype)
                if not sensor:
                    continue
            self._n_random += 1
            fault = Fault(
                id=f"random-{self._n_random:05d}",
                machine_id=machine_id,
                kind=kind,
                sensor=sensor,
                start_s=round(t, 6),
                end_s=round(t + duration, 6),
                params=resolve_params(kind, target.mtype, sensor, {}),
                source="random",
            )
            self._activate(fault)
        return count > 0

    def _activate(self, f: Fault) -> None:
        target = self.targets[f.machine_id]
        f.group, f.index = target.group, target.index
        f.row = target.mtype.sensor_names.index(f.sensor) if f.sensor else -1
        if FAULT_KINDS[f.kind].category == "counter":
            fleet = self.groups[f.group]
            if f.kind == "counter_reset":
                fleet.counter_fault(f.index, "reset", 0.0)
            elif f.kind == "meter_replacement":
                fleet.counter_fault(f.index, "replace", float(f.params["reading_kwh"]))
            else:
                fleet.counter_fault(f.index, "preset", float(f.params["lead_kwh"]))
        self.active.append(f)
        event = self.event(f)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def event(self, f: Fault) -> dict[str, object]:
        """The ground-truth record of a fault (one JSON line)."""
        t0 = self.t0
        return {
            "fault_id": f.id,
            "machine_id": f.machine_id,
            "machine_type": self.targets[f.machine_id].mtype.name,
            "sensor": f.sensor,
            "kind": f.kind,
            "category": FAULT_KINDS[f.kind].category,
            "start": iso_utc(t0 + timedelta(seconds=f.start_s)) if t0 else None,
            "end": iso_utc(t0 + timedelta(seconds=f.end_s)) if t0 else None,
            "start_s": f.start_s,
            "end_s": f.end_s,
            "params": f.params,
            "source": f.source,
        }

    def _index(self) -> None:
        self._physical, self._sensor, self._dq = {}, {}, {}
        for f in self.active:
            cat = FAULT_KINDS[f.kind].category
            if cat == "counter":
                continue  # acted once on activation
            if cat == "physical":
                self._physical.setdefault(f.group, []).append(f)
            elif cat == "sensor" or f.kind == "bad_unit":
                self._sensor.setdefault(f.group, []).append(f)
            else:
                self._dq.setdefault(f.group, {}).setdefault(f.index, []).append(f)

    # ------------------------------------------------------------------------------------------- effects
    def apply_physical(self, group: int, t: float) -> None:
        """Set the group's fault levels for this step (the strongest active fault of a kind wins)."""
        fleet = self.groups[group]
        faults = self._physical.get(group)
        if not faults and not fleet.faulted:
            return
        for arr in fleet.levels.values():
            arr[:] = 0.0
        for f in faults or ():
            arr = fleet.levels[FAULT_KINDS[f.kind].level]
            arr[f.index] = max(arr[f.index], f.level(t))
        fleet.faulted = bool(faults)

    def apply_sensor(self, group: int, values: np.ndarray, t: float) -> dict[int, set[str]]:
        """Change sensor outputs in place ((sensors x machines) array); returns the dropped sensors of each
        machine (by index in the group)."""
        dropped: dict[int, set[str]] = {}
        faults = self._sensor.get(group)
        if not faults:
            return dropped
        # bad_unit last: it converts whatever the sensor says
        for f in sorted(faults, key=lambda f: f.kind == "bad_unit"):
            r, j = f.row, f.index
            if f.kind == "stuck":
                if f.stuck_value is None:
                    f.stuck_value = float(values[r, j])
                values[r, j] = f.stuck_value
            elif f.kind == "drift":
                values[r, j] += float(f.params["rate_per_h"]) * (t - f.start_s) / 3600.0
            elif f.kind == "dropout":
                dropped.setdefault(j, set()).add(f.sensor)
            elif f.kind == "spikes":
                hit, sign = self.rng.random(), self.rng.random()
                if hit < float(f.params["probability"]):
                    s = self.targets[f.machine_id].mtype.sensors[r]
                    values[r, j] += (
                        (1.0 if sign < 0.5 else -1.0) * float(f.params["magnitude"]) * (s.hi - s.lo)
                    )
            elif f.kind == "bad_unit":
                values[r, j] = (
                    values[r, j] * 1.8 + 32.0 if f.params["unit"] == "degF" else values[r, j] * 14.5038
                )
        return dropped

    def message_faults(self, group: int) -> dict[int, list[Fault]]:
        return self._dq.get(group, {})

    def route(self, item: object, faults: list[Fault], t: float, dt: float, out: list[object]) -> None:
        """Send (append to out), drop, duplicate or hold one message according to its data-quality faults."""
        copies = 1
        for f in faults:
            p = float(f.params.get("probability", 1.0))
            u = self.rng.random()
            if u >= p:
                continue
            if f.kind == "missing":
                return
            if f.kind == "duplicate":
                copies = 2
            elif f.kind in ("late", "out_of_order"):
                delay = float(f.params["delay_s"]) if f.kind == "late" else dt
                for _ in range(copies):
                    self._held_order += 1
                    self._held.append(_Held(t + delay - 1e-9, self._held_order, item))
                return
        out.extend([item] * copies)

    def release(self, t: float) -> list[object]:
        """Held messages due at t (after the step's fresh messages, so they arrive out of order)."""
        if not self._held:
            return []
        due = [h for h in self._held if h.release_s <= t]
        if not due:
            return []
        self._held = [h for h in self._held if h.release_s > t]
        return [h.item for h in sorted(due, key=lambda h: (h.release_s, h.order))]

    def flush_held(self) -> list[object]:
        """Everything still held (at shutdown): sent late rather than lost."""
        items = [h.item for h in sorted(self._held, key=lambda h: (h.release_s, h.order))]
        self._held = []
        return items


def as_fault(spec: FaultSpec, target: Target, n: int) -> Fault:
    sensor = spec.sensor or default_sensor(spec.kind, target.mtype)
    if FAULT_KINDS[spec.kind].sensor != "none" and not sensor:
        raise ValueError(f"{spec.kind}: {target.mtype.name} has no sensor it applies to")
    return Fault(
        id=f"scheduled-{n:04d}",
        machine_id=target.machine_id,
        kind=spec.kind,
        sensor=sensor,
        start_s=spec.start_s,
        end_s=spec.end_s,
        params=resolve_params(spec.kind, target.mtype, sensor, spec.params),
        source="scheduled",
    )


class GroundTruthLog:
    """Writes each fault event as one JSON line as soon as it becomes active (flushed, so a detector can
    tail the file while the simulator runs)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, event: dict[str, object]) -> None:
        self._file.write(orjson.dumps(event).decode() + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()


def read_ground_truth(path: str | Path) -> list[dict[str, object]]:
    with Path(path).open(encoding="utf-8") as f:
        return [orjson.loads(line) for line in f if line.strip()]
