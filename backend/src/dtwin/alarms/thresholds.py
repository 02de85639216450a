"""Threshold rules evaluated on a consumer batch, vectorised: hi/hihi (above the threshold) and lo/lolo
(below) with a deadband and on/off delays, the standard cures for a chattering alarm (ISA-18.2).

Every (machine, rule) pair the stream has shown is a series with a slot in flat arrays: whether its alarm
is active, since when the condition has held (`pend`, for the on-delay), since when it has been back inside
by the deadband (`back`, for the off-delay) and the time of its last reading. A batch's readings are matched
to their series with one dictionary lookup per message (cached per machine and set of sensors), then
processed in rounds: the k-th reading of every series together, so a round is a handful of numpy operations
over all series and a batch costs as many rounds as the most readings one series has in it. No Python per
reading.

A rule of one machine replaces the rule of its type with the same sensor and kind. A reading not newer than
its series' last one is skipped (a redelivered batch changes nothing); a missing value (NaN, quality "bad")
neither starts nor stops a delay."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dtwin.contracts.telemetry import Telemetry

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DIRECTION = {"hi": 1.0, "hihi": 1.0, "lo": -1.0, "lolo": -1.0}


class RuleSpec(Protocol):
    """What a stored rule or a rule body has of a rule (alarms.models.AlarmRuleRow, schemas.AlarmRuleIn)."""

    @property
    def name(self) -> str: ...
    @property
    def sensor(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def priority(self) -> str: ...
    @property
    def deadband(self) -> float: ...
    @property
    def on_delay_s(self) -> float: ...
    @property
    def off_delay_s(self) -> float: ...
    @property
    def machine_type(self) -> str | None: ...
    @property
    def machine_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Rule:
    """What the evaluator needs of a threshold rule (alarms.models.AlarmRuleRow, enabled and not deleted)."""

    id: int
    name: str
    sensor: str
    kind: str
    threshold: float
    priority: str
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    machine_type: str | None = None
    machine_id: str | None = None

    @classmethod
    def of(cls, rule_id: int, spec: RuleSpec) -> Rule:
        return cls(
            id=rule_id,
            name=spec.name,
            sensor=spec.sensor,
            kind=spec.kind,
            threshold=spec.threshold,
            priority=spec.priority,
            deadband=spec.deadband,
            on_delay_s=spec.on_delay_s,
            off_delay_s=spec.off_delay_s,
            machine_type=spec.machine_type,
            machine_id=spec.machine_id,
        )

    @property
    def condition(self) -> str:
        """The alarm condition this rule raises, unique per machine: `hi:discharge_pressure_bar`."""
        return f"{self.kind}:{self.sensor}"


@dataclass(frozen=True, slots=True)
class Crossing:
    """A series' alarm raised (`raised`) or back to normal, at the reading that decided it."""

    machine_id: str
    rule: Rule
    ts: float  # epoch seconds
    value: float
    raised: bool


class ThresholdEvaluator:
    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: list[Rule] = []
        self._by_type: dict[tuple[str, str], list[int]] = {}
        self._by_machine: dict[tuple[str, str], list[int]] = {}
        self._slot: dict[tuple[str, int], int] = {}  # (machine, rule id) -> slot
        self._slot_rule: list[Rule] = []
        self._slot_machine: list[str] = []
        self._cache: dict[str, tuple[str, tuple[str, ...], I64, I64]] = {}
        n = 0
        self.active = np.zeros(n, dtype=np.bool_)
        self.pend = np.full(n, math.nan)
        self.back = np.full(n, math.nan)
        self.last_ts = np.full(n, -math.inf)
        self._params = np.zeros((4, n))  # direction, threshold, deadband, on delay; off delay below
        self._off = np.zeros(n)
        self.set_rules(rules)

    # ------------------------------------------------------------------ rules and series
    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    def set_rules(self, rules: Iterable[Rule]) -> None:
        """Install a new rule set. Series of rules that stay (same id) keep their state, with the rule's new
        parameters; series of removed rules are dropped (an alarm they raised is cleared by the caller)."""
        self._rules = [r for r in rules if r.kind in DIRECTION]
        self._by_type, self._by_machine = {}, {}
        for i, r in enumerate(self._rules):
            if r.machine_id is not None:
                self._by_machine.setdefault((r.machine_id, r.sensor), []).append(i)
            elif r.machine_type is not None:
                self._by_type.setdefault((r.machine_type, r.sensor), []).append(i)
        by_id = {r.id: r for r in self._rules}
        keep = [s for s, r in enumerate(self._slot_rule) if r.id in by_id]
        machines = [self._slot_machine[s] for s in keep]
        rules_kept = [by_id[self._slot_rule[s].id] for s in keep]
        idx = np.asarray(keep, dtype=np.int64)
        self.active, self.pend, self.back = self.active[idx], self.pend[idx], self.back[idx]
        self.last_ts = self.last_ts[idx]
        self._slot_machine, self._slot_rule = machines, rules_kept
        self._slot = {(m, r.id): s for s, (m, r) in enumerate(zip(machines, rules_kept, strict=True))}
        self._cache.clear()
        self._refresh_params()

    def _refresh_params(self) -> None:
        rs = self._slot_rule
        self._params = np.array(
            [
                [DIRECTION[r.kind] for r in rs],
                [r.threshold for r in rs],
                [max(r.deadband, 0.0) for r in rs],
                [max(r.on_delay_s, 0.0) for r in rs],
            ],
            dtype=np.float64,
        ).reshape(4, len(rs))
        self._off = np.array([max(r.off_delay_s, 0.0) for r in rs], dtype=np.float64)

    def rules_for(self, machine_id: str, machine_type: str, sensor: str) -> list[Rule]:
        """The rules that apply to one sensor of one machine (its own replace its type's, by kind)."""
        own = [self._rules[i] for i in self._by_machine.get((machine_id, sensor), ())]
        kinds = {r.kind for r in own}
        typed = [self._rules[i] for i in self._by_type.get((machine_type, sensor), ())]
        return own + [r for r in typed if r.kind not in kinds]

    def series(self, machine_id: str, rule: Rule) -> int:
        """The slot of one (machine, rule) series, created if new (for replaying stored history)."""
        slot = self._slot.get((machine_id, rule.id))
        if slot is None:
            slot = self._slot[(machine_id, rule.id)] = len(self._slot_rule)
            self._slot_rule.append(rule)
            self._slot_machine.append(machine_id)
            self._grow()
        return slot

    def _grow(self) -> None:
        grow = len(self._slot_rule) - self.active.shape[0]
        if grow > 0:
            self.active = np.concatenate([self.active, np.zeros(grow, dtype=np.bool_)])
            self.pend = np.concatenate([self.pend, np.full(grow, math.nan)])
            self.back = np.concatenate([self.back, np.full(grow, math.nan)])
            self.last_ts = np.concatenate([self.last_ts, np.full(grow, -math.inf)])
            self._refresh_params()

    def register(self, items: Sequence[Telemetry]) -> list[str]:
        """Give every (machine, rule) pair of these messages a series; returns the machines that got their
        first series now (whose open alarms the caller should `restore`)."""
        new: list[str] = []
        for t in items:
            keys = tuple(t.readings)
            hit = self._cache.get(t.machine_id)
            if hit is not None and hit[0] == t.machine_type and hit[1] == keys:
                continue
            pos: list[int] = []
            slots: list[int] = []
            fresh = False
            for p, sensor in enumerate(keys):
                for rule in self.rules_for(t.machine_id, t.machine_type, sensor):
                    slot = self._slot.get((t.machine_id, rule.id))
                    if slot is None:
                        slot = self._slot[(t.machine_id, rule.id)] = len(self._slot_rule)
                        self._slot_rule.append(rule)
                        self._slot_machine.append(t.machine_id)
                        fresh = True
                    pos.append(p)
                    slots.append(slot)
            if fresh and t.machine_id not in new:
                new.append(t.machine_id)
            self._cache[t.machine_id] = (
                t.machine_type,
                keys,
                np.asarray(pos, dtype=np.int64),
                np.asarray(slots, dtype=np.int64),
            )
        self._grow()
        return new

    def restore(self, open_conditions: Iterable[tuple[str, str]]) -> None:
        """Mark the series whose alarm is open (machine, condition) as active (a restart, or a machine this
        process now scores after a rebalance), so its return to normal clears it."""
        want = set(open_conditions)
        for (machine_id, _), slot in self._slot.items():
            if (machine_id, self._slot_rule[slot].condition) in want:
                self.active[slot] = True
                self.pend[slot] = math.nan

    def active_conditions(self, machine_id: str) -> list[str]:
        return [
            self._slot_rule[s].condition
            for (m, _), s in self._slot.items()
            if m == machine_id and self.active[s]
        ]

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, items: Sequence[Telemetry]) -> list[Crossing]:
        """Run the batch through every series it touches (`register` it first); the alarms raised and
        cleared, in time order."""
        slot_parts: list[I64] = []
        pos_parts: list[I64] = []
        values: list[float] = []
        stamps: list[float] = []
        counts: list[int] = []
        offset = 0
        for t in items:  # one dictionary lookup per message
            hit = self._cache.get(t.machine_id)
            if hit is None or hit[3].shape[0] == 0 or hit[1] != tuple(t.readings):
                continue
            _, keys, pos, slots = hit
            slot_parts.append(slots)
            pos_parts.append(pos + offset)
            counts.append(slots.shape[0])
            stamps.append(t.ts.timestamp())
            values.extend([math.nan] * len(keys) if t.quality == "bad" else t.readings.values())
            offset += len(keys)
        if not slot_parts:
            return []
        slots = np.concatenate(slot_parts)
        x = np.asarray(values, dtype=np.float64)[np.concatenate(pos_parts)]
        ts = np.repeat(np.asarray(stamps, dtype=np.float64), counts)
        return self.step(slots, ts, x)

    def step(self, slots: I64, ts: F64, x: F64) -> list[Crossing]:
        """The core on flat readings (series slot, epoch seconds, value), in any order."""
        order = np.lexsort((ts, slots))
        ordered = slots[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        group = np.repeat(np.arange(starts.shape[0]), np.diff(np.r_[starts, order.shape[0]]))
        rank = np.arange(order.shape[0]) - starts[group]
        ups: list[I64] = []
        downs: list[I64] = []
        with np.errstate(invalid="ignore"):
            for r in range(int(rank.max()) + 1):  # the r-th reading of every series at once
                sel = order[rank == r]
                s, tt, xx = slots[sel], ts[sel], x[sel]
                direction, threshold, deadband, on_delay = self._params[:, s]
                ok = np.isfinite(xx) & (tt > self.last_ts[s])
                act = self.active[s]
                dev = direction * (xx - threshold)
                over = ok & (dev > 0)
                inside = ok & (dev <= -deadband)
                p = self.pend[s]
                p_new = np.where(ok, np.where(over, np.where(np.isnan(p), tt, p), np.nan), p)
                up = ~act & over & (tt - p_new >= on_delay)
                b = self.back[s]
                b_new = np.where(ok, np.where(inside, np.where(np.isnan(b), tt, b), np.nan), b)
                down = act & inside & (tt - b_new >= self._off[s])
                self.pend[s] = np.where(act | up, np.nan, p_new)
                self.back[s] = np.where(~act | down, np.nan, b_new)
                self.active[s] = (act & ~down) | up
                self.last_ts[s] = np.where(ok, tt, self.last_ts[s])
                ups.append(sel[up])
                downs.append(sel[down])
        out = [
            Crossing(
                self._slot_machine[int(slots[i])],
                self._slot_rule[int(slots[i])],
                float(ts[i]),
                float(x[i]),
                raised,
            )
            for idx, raised in ((np.concatenate(ups), True), (np.concatenate(downs), False))
            for i in idx.tolist()
        ]
        out.sort(key=lambda c: c.ts)
        return out
