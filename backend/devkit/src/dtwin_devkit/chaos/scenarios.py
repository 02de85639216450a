"""The fault-injection scenarios and one scenario's run: stack up, load on, operator state set, fault,
recovery timed, drain, then every promise checked (readings, operator state, twins, WebSocket)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dtwin.config import Settings
from dtwin.core.migrate import upgrade_sync
from dtwin_devkit.chaos.probes import (
    Api,
    Truth,
    WsWatcher,
    compare_with_recording,
    machines_since,
    newest_readings,
    ready,
    readyz_body,
    rows_and_newest,
    set_synchronous_commit,
)
from dtwin_devkit.chaos.stack import (
    Stack,
    freeze_postgres,
    fresh_stack,
    kill9,
    restart_redis_empty,
    start_postgres_again,
    start_tansu_again,
    stop_postgres,
    stop_tansu,
    thaw_postgres,
)
from dtwin_devkit.testing import token_from_settings
from dtwin_pipeline.simulator.fleet import SimulatorConfig, plan_fleet
from dtwin_pipeline.simulator.machines import MACHINE_TYPES


@dataclass
class Params:
    machines: int = 600  # x 8.3 sensors at 1 Hz = ~5,000 readings/s
    rate: float = 1.0
    warmup_s: float = 20.0  # simulator start -> fault
    after_s: float = 40.0  # end of the fault -> simulator stops
    down_s: float = 3.0  # how long a killed process or a restarted server stays away
    pg_outage_s: float = 30.0
    operator_twins: int = 6
    recover_timeout_s: float = 120.0
    drain_timeout_s: float = 180.0
    redis_check_s: float = 5.0  # DTWIN_REDIS_CHECK_S (the default)
    # PostgreSQL's default; the throwaway server's `off` lets a crash (the outage scenario) drop commits it
    # had acknowledged, which no consumer can make up for: 0 reproduces that
    synchronous_commit: int = 1


@dataclass
class Times:
    fault: float  # monotonic: the fault began
    restore: float  # monotonic: the process or server is back (the fault's end)
    restore_wall: datetime
    fault_wall: datetime


@dataclass
class Result:
    name: str
    title: str
    backends: int
    truth: Truth | None = None
    simulator_line: str = ""
    fault_s: float = 0.0
    recovery_s: float | None = None  # fault's end -> ready, fresh rows and operator state back
    ws: list[str] = field(default_factory=list)
    ws_connects: int = 0
    ws_updates_during: int = 0
    ws_live_after: bool = False
    operator: list[str] = field(default_factory=list)  # differences from what was set
    twins_checked: int = 0
    twins_mismatched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    loss_expected: bool = False  # Tansu (memory storage) restarted: records not yet consumed are gone
    workdir: Path | None = None
    window: str = ""  # the fault's wall-clock span


Fault = Callable[[Stack, Params], Awaitable[Times]]


def _times(fault: float) -> Times:
    now = datetime.now(UTC)
    return Times(fault, time.monotonic(), now, now - timedelta(seconds=time.monotonic() - fault))


async def kill_backend(stack: Stack, p: Params) -> Times:
    victim = stack.backends[0]
    t = time.monotonic()
    kill9(victim.proc)
    await asyncio.sleep(p.down_s)
    stack.restart_backend(victim)
    return _times(t)


async def kill_bridge(stack: Stack, p: Params) -> Times:
    assert stack.bridge is not None
    t = time.monotonic()
    kill9(stack.bridge)
    await asyncio.sleep(p.down_s)
    stack.start_bridge()
    return _times(t)


async def postgres_outage(stack: Stack, p: Params) -> Times:
    t = time.monotonic()
    await asyncio.to_thread(stop_postgres, stack.servers["postgres"])
    await asyncio.sleep(p.pg_outage_s)
    await asyncio.to_thread(start_postgres_again, stack.servers["postgres"])
    return _times(t)


async def postgres_hang(stack: Stack, p: Params) -> Times:
    t = time.monotonic()
    await asyncio.to_thread(freeze_postgres, stack.servers["postgres"])
    try:
        await asyncio.sleep(p.pg_outage_s)
    finally:
        await asyncio.to_thread(thaw_postgres, stack.servers["postgres"])
    return _times(t)


async def redis_restart(stack: Stack, p: Params) -> Times:
    t = time.monotonic()
    await asyncio.to_thread(restart_redis_empty, stack.servers["redis"])
    return _times(t)


async def kill_one_of_two(stack: Stack, p: Params) -> Times:
    t = time.monotonic()
    kill9(stack.backends[0].proc)  # the one the WebSocket client and the API calls use
    return _times(t)


async def kafka_restart(stack: Stack, p: Params) -> Times:
    t = time.monotonic()
    await asyncio.to_thread(stop_tansu, stack.servers["kafka"])
    await asyncio.sleep(p.down_s)
    await asyncio.to_thread(start_tansu_again, stack.servers["kafka"])
    return _times(t)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    fault: Fault
    backends: int = 1
    fault_len: Callable[[Params], float] = lambda p: p.down_s
    loss_expected: bool = False
    kafka_storage: str = "memory"  # Tansu's: "s3" keeps records and offsets across its restart


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("backend-kill", "kill -9 the backend, restart it", kill_backend),
        Scenario("bridge-kill", "kill -9 the bridge, restart it", kill_bridge),
        Scenario(
            "postgres-outage",
            "PostgreSQL stopped (connections refused), started again",
            postgres_outage,
            fault_len=lambda p: p.pg_outage_s,
        ),
        Scenario(
            "postgres-hang",
            "PostgreSQL hung (SIGSTOP: connections accepted, nothing answered), resumed",
            postgres_hang,
            fault_len=lambda p: p.pg_outage_s,
        ),
        Scenario(
            "redis-restart", "Redis restarted empty on the same port", redis_restart, fault_len=lambda p: 1.0
        ),
        Scenario("backend-kill-1-of-2", "two backends, one group: kill -9 one", kill_one_of_two, backends=2),
        Scenario(
            "kafka-restart",
            "Kafka broker restarted on the same port (Tansu on S3 storage: records and offsets kept)",
            kafka_restart,
            kafka_storage="s3",
        ),
        Scenario(
            "kafka-restart-memory",
            "Tansu (memory storage) restarted on the same port: every record and offset gone",
            kafka_restart,
            loss_expected=True,
        ),
    )
}


# ------------------------------------------------------------------ operator state


def operator_plan(p: Params) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Per chosen machine: the attributes and the desired patch set before the fault (one setting moved to
    a value inside its range, so the simulated device accepts it)."""
    fleet = plan_fleet(SimulatorConfig(machines=p.machines))
    step = max(1, len(fleet) // p.operator_twins)
    plan: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for k, m in enumerate(fleet[::step][: p.operator_twins]):
        setting = MACHINE_TYPES[m.type].settings[0]
        value = round(setting.lo + (setting.hi - setting.lo) * (0.3 + 0.1 * k), 2)
        attrs = {"serial": f"SN-{m.id}", "owner": "chaos", "location": {"hall": k % 3 + 1}}
        plan[m.id] = (attrs, {setting.name: value})
    return plan


def operator_diff(twin: dict[str, Any] | None, want: dict[str, Any]) -> list[str]:
    """What differs between a twin and the operator state it should hold (`want`: attributes, desired,
    desired_version, command version/status, version as seen before the fault)."""
    if twin is None:
        return ["twin missing"]
    out: list[str] = []
    for key in ("attributes", "desired", "desired_version"):
        if twin.get(key) != want[key]:
            out.append(f"{key} {twin.get(key)!r} != {want[key]!r}")
    command = twin.get("command") or {}
    if (command.get("version"), command.get("status")) != (want["desired_version"], want["command_status"]):
        out.append(
            f"command {command.get('version')}/{command.get('status')} != {want['desired_version']}/"
            f"{want['command_status']}"
        )
    if twin.get("delta"):
        out.append(f"delta {twin.get('delta')!r} not empty")
    if int(twin.get("version", 0)) < want["version"]:
        out.append(f"version went back {want['version']} -> {twin.get('version')}")
    return out


async def set_operator_state(
    api: Api, plan: dict[str, tuple[dict[str, Any], dict[str, Any]]], within_s: float
) -> dict[str, dict[str, Any]]:
    """Attributes and desired state on the planned twins, then wait until each device reported it."""
    deadline = time.monotonic() + within_s
    for machine_id in plan:  # the twin exists once its first telemetry went through
        while await api.twin(machine_id) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"twin {machine_id} never appeared")
            await asyncio.sleep(0.5)
    for machine_id, (attrs, patch) in plan.items():
        await api.put_attributes(machine_id, attrs)
        await api.patch_desired(machine_id, patch)
    want: dict[str, dict[str, Any]] = {}
    pending = set(plan)
    while pending:
        for machine_id in sorted(pending):
            twin = await api.twin(machine_id)
            command = (twin or {}).get("command") or {}
            if twin and command.get("status") == "accepted" and not twin.get("delta"):
                want[machine_id] = {
                    "attributes": plan[machine_id][0],
                    "desired": plan[machine_id][1],
                    "desired_version": twin["desired_version"],
                    "command_status": "accepted",
                    "version": twin["version"],
                }
                pending.discard(machine_id)
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"devices did not report their desired state: {sorted(pending)}")
        await asyncio.sleep(0.5)
    return want


async def twins_vs_database(api: Api, database_url: str) -> tuple[int, list[str]]:
    """Every machine with readings: the REST twin's readings and ts are the newest in PostgreSQL."""
    newest = await newest_readings(database_url)
    twins = {t["id"]: t for t in await api.twins()}
    bad: list[str] = []
    for machine_id, (ts, values) in newest.items():
        twin = twins.get(machine_id)
        if twin is None:
            bad.append(f"{machine_id}: no twin")
            continue
        twin_ts = datetime.fromisoformat(twin["ts"]) if twin.get("ts") else None
        if twin_ts != ts:
            bad.append(f"{machine_id}: ts {twin_ts} != newest row {ts}")
        elif twin.get("readings") != values:
            diff = sorted(k for k in values if twin.get("readings", {}).get(k) != values[k])
            bad.append(f"{machine_id}: readings differ from the newest rows on {diff[:4]}")
    return len(newest), bad


# ------------------------------------------------------------------ one scenario


async def _wait_ready(stack: Stack, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    for b in stack.backends:
        while await ready(b.base) is None:
            if time.monotonic() > deadline or not b.alive:
                raise RuntimeError(f"{b.name} not ready (log: {stack.workdir / (b.name + '.log')})")
            await asyncio.sleep(0.5)


async def _recovered(
    stack: Stack, api: Api, t: Times, want: dict[str, dict[str, Any]], machines: int
) -> bool:
    """Every live backend ready, every machine's readings stamped after the fault's end in PostgreSQL (so
    every partition flows again), and the operator state readable through the API."""
    live = stack.live_backends()
    if not live or any([await ready(b.base) is None for b in live]):
        return False
    try:
        if await machines_since(stack.env["DTWIN_DATABASE_URL"], t.restore_wall) < machines:
            return False
    except Exception:  # the database may still be coming back
        return False
    for machine_id, w in want.items():
        twin = await api.twin(machine_id)
        if twin is None or twin.get("attributes") != w["attributes"] or twin.get("desired") != w["desired"]:
            return False
    return True


async def _drain(stack: Stack, published: int, within_s: float) -> int:
    """Wait until the rows reach what was published or stop growing (three polls alike, no outage buffer)."""
    db = stack.env["DTWIN_DATABASE_URL"]
    deadline = time.monotonic() + within_s
    history: list[int] = []
    while True:
        with contextlib.suppress(Exception):
            rows, _ = await rows_and_newest(db)
            history.append(rows)
            if rows >= published:
                return rows
            if len(history) >= 4 and len(set(history[-4:])) == 1:
                bodies = [await readyz_body(b.base) for b in stack.live_backends()]
                if all(((b or {}).get("consumer") or {}).get("outage_readings", 0) == 0 for b in bodies):
                    return rows
        if time.monotonic() > deadline:
            return history[-1] if history else 0
        await asyncio.sleep(2.5)


def _published(line: str) -> int:
    with contextlib.suppress(ValueError, IndexError):
        return int(line.split("(", 1)[1].split(" ", 1)[0])
    return 0


async def run_scenario(sc: Scenario, p: Params, root: Path, seed: int) -> Result:
    res = Result(sc.name, sc.title, sc.backends, loss_expected=sc.loss_expected)
    with fresh_stack(sc.name, root, sc.kafka_storage) as stack:
        res.workdir = stack.workdir
        stack.env["DTWIN_REDIS_CHECK_S"] = str(p.redis_check_s)
        db = stack.env["DTWIN_DATABASE_URL"]
        await asyncio.to_thread(upgrade_sync, db)
        await set_synchronous_commit(db, bool(p.synchronous_commit))
        for _ in range(sc.backends):
            stack.start_backend()
        stack.start_bridge()
        await _wait_ready(stack, 90)
        settings = Settings(database_url=db, jwt_secret=stack.env["DTWIN_JWT_SECRET"])
        token = await token_from_settings(settings, ttl=timedelta(hours=2))

        def base() -> str | None:
            live = stack.live_backends()
            return live[0].base if live else None

        def ws_url() -> str | None:
            b = base()
            return None if b is None else b.replace("http://", "ws://") + "/ws"

        api = Api(base, token)
        watcher = WsWatcher(ws_url, token)
        ws_task = asyncio.create_task(watcher.run())
        recording = stack.workdir / "published.csv"
        duration = p.warmup_s + sc.fault_len(p) + p.after_s
        await asyncio.sleep(5)  # the consumer group's first join on Tansu
        stack.start_simulator(
            [
                "--machines",
                str(p.machines),
                "--rate",
                str(p.rate),
                "--duration",
                str(duration),
                "--seed",
                str(seed),
                "--record",
                str(recording),
            ]
        )
        sim_started = time.monotonic()
        try:
            want = await set_operator_state(api, operator_plan(p), within_s=max(30.0, p.warmup_s))
            await asyncio.sleep(max(0.0, sim_started + p.warmup_s - time.monotonic()))
            before = watcher.updates
            t = await sc.fault(stack, p)
            res.fault_s = t.restore - t.fault
            res.window = f"{t.fault_wall:%H:%M:%S.%f} to {t.restore_wall:%H:%M:%S.%f} UTC"
            res.ws_updates_during = watcher.updates - before
            while not await _recovered(stack, api, t, want, p.machines):
                if time.monotonic() - t.restore > p.recover_timeout_s:
                    res.failures.append(
                        f"not recovered within {p.recover_timeout_s:.0f} s of the fault's end"
                    )
                    break
                await asyncio.sleep(0.5)
            else:
                res.recovery_s = time.monotonic() - t.restore
            assert stack.simulator is not None
            out, _ = await asyncio.to_thread(stack.simulator.communicate, None, duration + 120)
            res.simulator_line = out.decode().strip().splitlines()[-1] if out.strip() else ""
            published = _published(res.simulator_line)
            await _drain(stack, published, p.drain_timeout_s)
            await asyncio.sleep(2)  # the last batch's Redis writes and change-stream messages
            res.truth = await compare_with_recording(db, recording)
            for machine_id, w in want.items():
                res.operator += [f"{machine_id}: {d}" for d in operator_diff(await api.twin(machine_id), w)]
            res.twins_checked, res.twins_mismatched = await twins_vs_database(api, db)
            if res.recovery_s is not None:
                res.ws_live_after = watcher.last_update_at > t.restore + res.recovery_s
        finally:
            ws_task.cancel()
            with contextlib.suppress(BaseException):
                await ws_task
            await api.close()
            stack.note_crashes()
        res.ws, res.ws_connects = watcher.outcomes, watcher.connects
        if watcher.backwards:
            res.failures.append(
                f"WebSocket seq went backwards {len(watcher.backwards)}x: {watcher.backwards[:3]}"
            )
        if stack.crashed:
            res.failures.append(f"processes died on their own: {stack.crashed}")
        judge(res)
    return res


def judge(res: Result) -> None:
    tr = res.truth
    if tr is None or tr.published == 0 or tr.stored == 0:
        res.failures.append("measured nothing (0 readings)")
    elif tr.lost or tr.extra or tr.duplicated or tr.wrong_value:
        what = f"lost {tr.lost}, duplicated {tr.duplicated}, extra {tr.extra}, wrong value {tr.wrong_value}"
        if tr.lost_where:
            what += f" (lost: {tr.lost_where}; the fault: {res.window})"
        if res.loss_expected and not (tr.extra or tr.duplicated or tr.wrong_value):
            res.notes.append(f"{what}: expected, the broker's memory storage went with it")
        else:
            res.failures.append(what)
    if _published(res.simulator_line) and tr is not None and _published(res.simulator_line) != tr.published:
        res.notes.append(f"simulator says {res.simulator_line!r}, its recording holds {tr.published}")
    if res.operator:
        res.failures.append(f"operator state not back on {len(res.operator)} count(s): {res.operator[:3]}")
    if res.twins_mismatched:
        res.failures.append(
            f"{len(res.twins_mismatched)} of {res.twins_checked} twins differ from the newest rows: "
            f"{res.twins_mismatched[:3]}"
        )
    if not res.ws_live_after:
        res.failures.append("the WebSocket client received no update after the recovery")
