"""The simulated fleet: deterministic machine plan (ids, types, sites/lines, worker slices), one `TypeFleet`
per type, the fault engine, the command hook (`apply_desired`) and the per-tick telemetry payloads."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from dtwin.contracts.telemetry import iso_utc
from dtwin.contracts.topics import mqtt_topic
from dtwin_pipeline.simulator.commands import check_setting, make_ack, parse_desired_message
from dtwin_pipeline.simulator.faults import Fault, FaultEngine, FaultSpec, RandomFaults, Target, as_fault
from dtwin_pipeline.simulator.machines import MACHINE_TYPES, MODES, MachineType
from dtwin_pipeline.simulator.physics import TypeFleet

_FAULT_STREAM = 10_000


@dataclass(frozen=True)
class Machine:
    id: str
    type: str
    site: str
    line: str

    def topic(self, kind: str = "telemetry") -> str:
        return mqtt_topic(self.site, self.line, self.id, kind)


@dataclass(frozen=True)
class Outgoing:
    machine: Machine
    payload: bytes
    readings: int = 0


@dataclass
class SimulatorConfig:
    machines: int = 50
    rate_hz: float = 1.0
    seed: int = 42
    sites: int = 2
    lines_per_site: int = 3
    types: Sequence[str] = field(default_factory=lambda: list(MACHINE_TYPES))
    duration_s: float | None = None
    id_offset: int = 0
    # fleet composition by type (overrides machines/types), machines interleaved round-robin
    fleet: Mapping[str, int] | None = None
    # explicit placement: [(site, [line, ...]), ...] (overrides sites/lines_per_site)
    site_lines: Sequence[tuple[str, Sequence[str]]] | None = None
    faults: Sequence[FaultSpec] = ()
    random_faults: RandomFaults | None = None
    # this process simulates slice `worker` of `workers` (contiguous ranges of the plan)
    worker: int = 0
    workers: int = 1
    # simulated clock start (default: wall clock when the run starts)
    start: datetime | None = None
    # publish a tick's messages spread over the period instead of one burst
    spread: bool = True
    # benchmarks: each message's ts is the moment it is handed to MQTT, not its tick's time (sinks.Stamping)
    stamp_at_send: bool = False


def _placements(cfg: SimulatorConfig) -> list[tuple[str, str]]:
    if cfg.site_lines:
        width = max(len(lines) for _, lines in cfg.site_lines)
        return [(s, lines[k]) for k in range(width) for s, lines in cfg.site_lines if k < len(lines)]
    return [(f"site-{s + 1}", f"line-{ln + 1}") for ln in range(cfg.lines_per_site) for s in range(cfg.sites)]


def plan_fleet(cfg: SimulatorConfig) -> list[Machine]:
    """Every machine of the whole fleet (all workers), in a deterministic order."""
    if cfg.fleet is not None:
        unknown = [t for t in cfg.fleet if t not in MACHINE_TYPES]
        if unknown:
            raise ValueError(f"unknown machine types: {unknown}; known: {sorted(MACHINE_TYPES)}")
        counts = {t: n for t, n in cfg.fleet.items() if n > 0}
        order: list[str] = []
        while counts:
            for t in list(counts):
                order.append(t)
                counts[t] -= 1
                if counts[t] == 0:
                    del counts[t]
    else:
        unknown = [t for t in cfg.types if t not in MACHINE_TYPES]
        if unknown:
            raise ValueError(f"unknown machine types: {unknown}; known: {sorted(MACHINE_TYPES)}")
        order = [cfg.types[i % len(cfg.types)] for i in range(cfg.machines)]
    places = _placements(cfg)
    return [
        Machine(f"{MACHINE_TYPES[t].prefix}-{cfg.id_offset + g + 1:04d}", t, *places[g % len(places)])
        for g, t in enumerate(order)
    ]


def worker_slice(total: int, worker: int, workers: int) -> tuple[int, int]:
    if not 0 <= worker < workers:
        raise ValueError(f"worker {worker} not in 0..{workers - 1}")
    return total * worker // workers, total * (worker + 1) // workers


@dataclass
class Group:
    mtype: MachineType
    fleet: TypeFleet
    machines: list[Machine]
    reported: list[dict[str, Any]]


def _initial_reported(mtype: MachineType, fleet: TypeFleet, j: int) -> dict[str, Any]:
    rep: dict[str, Any] = {"mode": "on"}
    for st in mtype.settings:
        v = float(fleet.sp[st.name][j])
        rep[st.name] = int(v) if st.decimals == 0 else round(v, st.decimals)
    if fleet.counter_row >= 0:
        rep["rollover_kwh"] = float(fleet.rollover[j])  # where the meter's register wraps
    return rep


def site_key(site: str) -> float:
    """A stable number in [0, 1) for a site name (site-dependent behaviour: energy meters' shift pattern
    and scale)."""
    return zlib.crc32(site.encode()) / 2**32


class Fleet:
    """Deterministic (seeded) fleet. `tick()` advances the physics one step and returns the step's messages;
    `apply_desired()` is the command hook (pure: no I/O), used by MQTT and embedded mode alike.
    Thread-safe between the two (one lock), so ticks may run in a worker thread."""

    def __init__(
        self, cfg: SimulatorConfig, on_fault_event: Callable[[dict[str, object]], None] | None = None
    ) -> None:
        plan = plan_fleet(cfg)
        lo, hi = worker_slice(len(plan), cfg.worker, cfg.workers)
        own = plan[lo:hi]
        type_index = {t: i for i, t in enumerate(MACHINE_TYPES)}
        by_type: dict[str, list[Machine]] = {}
        for m in own:
            by_type.setdefault(m.type, []).append(m)
        self.groups: list[Group] = []
        for tname in sorted(by_type, key=type_index.__getitem__):
            ms = by_type[tname]
            seq = np.random.SeedSequence([cfg.seed, cfg.worker, cfg.workers, type_index[tname]])
            tf = TypeFleet(MACHINE_TYPES[tname], len(ms), np.random.default_rng(seq))
            tf.site[:] = [site_key(m.site) for m in ms]
            reported = [_initial_reported(tf.type, tf, j) for j in range(len(ms))]
            self.groups.append(Group(tf.type, tf, ms, reported))
        self.targets: dict[str, Target] = {
            m.id: Target(m.id, gi, j, g.mtype)
            for gi, g in enumerate(self.groups)
            for j, m in enumerate(g.machines)
        }
        self._by_id = {m.id: m for g in self.groups for m in g.machines}
        faults = _scheduled_faults(cfg.faults, plan, self.targets)
        fault_rng = np.random.default_rng(
            np.random.SeedSequence([cfg.seed, cfg.worker, cfg.workers, _FAULT_STREAM])
        )
        self.faults = FaultEngine(
            self.targets, [g.fleet for g in self.groups], faults, cfg.random_faults, fault_rng, on_fault_event
        )
        self.t0: datetime | None = None
        self.now: datetime | None = None
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._last_ack: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------------------------------- lookup
    @property
    def machines(self) -> list[Machine]:
        return [m for g in self.groups for m in g.machines]

    def owns(self, machine_id: str) -> bool:
        return machine_id in self._by_id

    def machine(self, machine_id: str) -> Machine:
        return self._by_id[machine_id]

    def reported(self, machine_id: str) -> dict[str, Any]:
        t = self.targets[machine_id]
        return dict(self.groups[t.group].reported[t.index])

    @property
    def active_faults(self) -> list[Fault]:
        return list(self.faults.active)

    # ------------------------------------------------------------------------------------------- ticks
    def tick(self, now: datetime, dt: float) -> list[Outgoing]:
        """Advance the fleet dt seconds to `now` (simulated clock) and return this step's messages.

        Readings depend only on the seed, the number of steps, dt and the settings/faults applied, never on
        wall-clock timing; of `now` only the first tick's counts, and only for types that follow the calendar
        (energy meters' shift profiles)."""
        with self._lock:
            if self.t0 is None:
                self.t0 = now
                self.faults.t0 = now
                for g in self.groups:
                    g.fleet.epoch0 = now.timestamp()
            self.now = now
            t = (now - self.t0).total_seconds()
            self.faults.advance(t, dt)
            ts = iso_utc(now)
            out: list[Any] = []
            for gi, g in enumerate(self.groups):
                self.faults.apply_physical(gi, t)
                values = g.fleet.step(t, dt)
                dropped = self.faults.apply_sensor(gi, values, t)
                rows = np.round(values, 3).T.tolist()
                held = self.faults.message_faults(gi)
                names = g.fleet.names
                for j, (m, row) in enumerate(zip(g.machines, rows, strict=True)):
                    readings = dict(zip(names, row, strict=True))
                    if dropped and j in dropped:
                        for name in dropped[j]:
                            del readings[name]
                        if not readings:
                            continue
                    payload = orjson.dumps(
                        {
                            "schema": 1,
                            "machine_id": m.id,
                            "machine_type": m.type,
                            "ts": ts,
                            "site": m.site,
                            "line": m.line,
                            "readings": readings,
                            "quality": "good",
                            "reported": g.reported[j],
                        }
                    )
                    o = Outgoing(m, payload, len(readings))
                    if held and j in held:
                        self.faults.route(o, held[j], t, dt, out)
                    else:
                        out.append(o)
            out.extend(self.faults.release(t))
            return out

    def flush(self) -> list[Outgoing]:
        """Messages still held back by late/out-of-order faults (send them before stopping)."""
        with self._lock:
            return [o for o in self.faults.flush_held() if isinstance(o, Outgoing)]

    # ------------------------------------------------------------------------------------------- commands
    def apply_desired(self, msg: bytes | str | dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
        """Apply a desired-state message to one machine and return its ack (`schema 1`).

        Unknown settings and out-of-range values are rejected with a reason; the rest is applied and shows in
        `reported` of every following telemetry message. A version below the last applied one is rejected as
        stale; the same version again (QoS 1 redelivery) returns the earlier ack unchanged."""
        ts = iso_utc(now or datetime.now(UTC))
        parsed = parse_desired_message(msg)
        if isinstance(parsed, str):
            hint = msg.get("machine_id") if isinstance(msg, dict) else None
            version = msg.get("version") if isinstance(msg, dict) else None
            return make_ack(
                str(hint or ""), version if isinstance(version, int) else 0, {}, {"message": parsed}, ts
            )
        machine_id, version = parsed.machine_id, parsed.version
        if machine_id not in self.targets:
            return make_ack(machine_id, version, {}, {"machine_id": f"unknown machine {machine_id!r}"}, ts)
        with self._lock:
            last = self._versions.get(machine_id)
            if last is not None and version == last:
                return dict(self._last_ack[machine_id])
            if last is not None and version < last:
                return make_ack(
                    machine_id, version, {}, {"version": f"stale version {version}; {last} applied"}, ts
                )
            target = self.targets[machine_id]
            group = self.groups[target.group]
            applied: dict[str, Any] = {}
            rejected: dict[str, str] = {}
            for name, value in parsed.desired.items():
                ok, reason = check_setting(group.mtype, name, value)
                if reason is not None:
                    rejected[name] = reason
                else:
                    applied[name] = ok
            if not parsed.desired:
                rejected["desired"] = "no settings given"
            for name, value in applied.items():
                if name == "mode":
                    group.fleet.mode[target.index] = MODES.index(str(value))
                else:
                    group.fleet.sp[name][target.index] = float(value)
            if applied:
                group.reported[target.index] = {**group.reported[target.index], **applied}
            ack = make_ack(machine_id, version, applied, rejected, ts)
            self._versions[machine_id] = version
            self._last_ack[machine_id] = ack
            return dict(ack)

    def desired(self, machine_id: str, settings: Mapping[str, Any], version: int) -> dict[str, Any]:
        """The desired hook for in-process callers (embedded mode): same as `apply_desired`."""
        return self.apply_desired(
            {"schema": 1, "machine_id": machine_id, "version": version, "desired": dict(settings)}
        )


def _scheduled_faults(specs: Sequence[FaultSpec], plan: list[Machine], own: dict[str, Target]) -> list[Fault]:
    """Resolve every scheduled fault against the whole plan (so a bad target fails in every worker) and keep
    the ones for this process's machines."""
    by_type: dict[str, list[Machine]] = {}
    for m in plan:
        by_type.setdefault(m.type, []).append(m)
    ids = {m.id: m for m in plan}
    out: list[Fault] = []
    for n, spec in enumerate(specs, start=1):
        where = f"faults[{n - 1}] ({spec.kind})"
        if spec.machine is not None:
            if spec.machine not in ids:
                sample = ", ".join(m.id for m in plan[:5])
                raise ValueError(
                    f"{where}: unknown machine {spec.machine!r} (fleet has {len(plan)}: {sample}, ...)"
                )
            m = ids[spec.machine]
        else:
            assert spec.type is not None
            candidates = by_type.get(spec.type, [])
            if len(candidates) < spec.nth:
                raise ValueError(
                    f"{where}: the fleet has {len(candidates)} {spec.type} machines, nth={spec.nth}"
                )
            m = candidates[spec.nth - 1]
        mtype = MACHINE_TYPES[m.type]
        probe = Target(m.id, -1, -1, mtype)
        try:
            fault = as_fault(spec, probe, n)
        except (KeyError, ValueError) as exc:
            reason = exc.args[0] if exc.args else str(exc)
            raise ValueError(f"{where} on {m.id}: {reason}") from None
        if m.id in own:
            out.append(fault)
    return out
