"""ScoringStage's per-machine bookkeeping follows the engine: removed twins (the change stream's
`kind: removed`, in every process) and silent machines leave both, and a removed machine's correlation report
leaves Redis. Embedded adapters (fakeredis; the whole app for the API path)."""

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fakeredis
import httpx
import numpy as np
import orjson
import pytest
from fastapi import FastAPI

from dtwin.anomalies.correlation import phase_of
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.scoring import ScoringStage
from dtwin.contracts.changes import AlertsMessage, RemovedChange, TwinsMessage, twin_change
from dtwin.contracts.telemetry import Telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.twins.store import decode_twin
from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

T0 = datetime(2026, 11, 23, tzinfo=UTC)
SENSORS = tuple(f"s{i}" for i in range(8))


def stage_for(engine: ScoringEngine, redis: fakeredis.FakeAsyncRedis, tmp_path: Path) -> ScoringStage:
    stage = ScoringStage(
        engine,
        redis=redis,
        keys=RedisKeys("t"),
        bus=None,  # type: ignore[arg-type]  # healthy warm-up data: no events or decisions to publish
        sessions=None,  # type: ignore[arg-type]
        events_topic="e",
        decisions_topic="d",
        model_store=FileModelStore(tmp_path),
        evict_after_s=5.0,
    )

    async def no_store(events: object, decisions: object) -> list[object]:
        return []  # a machine's first decision once it is warm: no database here (not these tests' business)

    stage._store = no_store  # type: ignore[assignment,method-assign]
    return stage


def messages(ids: range | list[str], second: int, rng: np.random.Generator) -> list[Telemetry]:
    names = [f"id{i:05d}" for i in ids] if isinstance(ids, range) else ids
    values = (50.0 + rng.normal(size=(len(names), len(SENSORS)))).tolist()
    ts = T0 + timedelta(seconds=second)
    return [
        Telemetry(m, "pump", ts, dict(zip(SENSORS, v, strict=True)))
        for m, v in zip(names, values, strict=True)
    ]


def bookkeeping(stage: ScoringStage) -> list[set[str]]:
    return [set(stage.book), set(stage._desired), set(stage._answered)]


@pytest.mark.slow
async def test_stage_bookkeeping_stays_bounded_through_machine_id_churn(tmp_path: Path) -> None:
    """10,000 machine ids, 20 new per second, each sending for 3 s; housekeeping every 5 s evicts machines
    idle for 5 s from the engine and from the stage's per-machine dicts."""
    now = [0.0]
    stage = stage_for(ScoringEngine(clock=lambda: now[0]), fakeredis.FakeAsyncRedis(), tmp_path)
    rng = np.random.default_rng(0)
    peak = 0
    for second in range(10_000 // 20 + 3):
        now[0] = float(second)
        await stage.process(
            messages(range(max(0, (second - 2) * 20), min(10_000, (second + 1) * 20)), second, rng)
        )
        if second % 5 == 0:
            await stage.housekeep()
        live = set(stage.engine.index._machines)
        for d in bookkeeping(stage):
            assert d <= live
            peak = max(peak, len(d))
    assert peak <= 20 * (5 + 5 + 3)  # the machines alive at once (see test_memory_bounds)
    now[0] += 6.0  # everyone silent for longer than the idle time: nothing is left
    await stage.housekeep()
    assert stage.engine.index.n_machines == 0
    assert bookkeeping(stage) == [set(), set(), set()]


async def test_removed_twin_leaves_engine_stage_and_redis(tmp_path: Path) -> None:
    redis = fakeredis.FakeAsyncRedis()
    stage = stage_for(ScoringEngine(), redis, tmp_path)
    rng = np.random.default_rng(1)
    ids = ["a", "b", "c"]
    await stage.process(messages(ids, 0, rng))
    keys = {m: stage.keys.correlations(m) for m in ids}
    assert all([await redis.exists(k) for k in keys.values()])

    stage.on_change(AlertsMessage(items=[]))  # not a twin change
    stage.on_change(TwinsMessage(items=[twin_change(decode_twin("a", {}))]))
    assert stage.engine.index.machine("a") is not None
    stage.on_change(TwinsMessage(items=[RemovedChange(id="a"), RemovedChange(id="b")]))
    assert stage.engine.index.machine("a") is None and stage.engine.index.machine("b") is None
    assert set(stage.book) == {"c"} and "a" not in stage._desired

    await stage.process(messages(["b"], 1, rng))  # b comes back before the housekeeping: a fresh report
    await stage.housekeep()
    assert not await redis.exists(keys["a"])
    assert await redis.exists(keys["b"]) and await redis.exists(keys["c"])
    raw = await redis.get(keys["b"])
    assert raw is not None
    report = orjson.loads(raw)
    assert report["sensors"] == list(SENSORS)


async def feed(app: FastAPI, machine: str, n: int) -> None:
    await factories.feed(
        app, machine, n, t0=T0, readings=lambda i: {"current_a": 10.0 + i % 3, "load_pct": 50.0 + i % 5}
    )


async def test_twin_deleted_through_the_api_is_forgotten_by_scoring(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    stage = app.state.consumer.scoring
    assert isinstance(stage, ScoringStage)
    await feed(app, "conv-1", 5)
    await feed(app, "conv-2", 5)
    redis = app.state.adapters.redis

    async def scored() -> bool:
        slots = [stage.engine.index.machine(m) for m in ("conv-1", "conv-2")]
        return all(m is not None and stage.engine.machines.rows[m] == 5 for m in slots)

    await eventually(scored, what="both machines scored")
    key = stage.keys.correlations("conv-1")
    assert await redis.exists(key)

    assert (await client.delete("/api/v1/twins/conv-1")).status_code == 204

    async def forgotten() -> bool:
        return stage.engine.index.machine("conv-1") is None

    await eventually(forgotten, what="scoring forgot the deleted twin")
    assert "conv-1" not in stage.book
    await stage.housekeep()
    assert not await redis.exists(key)
    assert stage.engine.health("conv-2") is not None
    assert await redis.exists(stage.keys.correlations("conv-2"))


async def test_periodic_rewrites_of_machines_that_appeared_together_are_spread(tmp_path: Path) -> None:
    """1,000 machines appear in one batch (a backend starting): all are written then, and afterwards their
    periodic rewrites (analytics every 30 s, correlation reports every 10 s before a machine's first window)
    come due spread over the period, not all in one batch every period."""
    now = [0.0]
    redis = fakeredis.FakeAsyncRedis()
    stage = stage_for(ScoringEngine(), redis, tmp_path)
    stage._clock = lambda: now[0]
    due: list[list[str]] = []
    healths = stage.engine.healths
    stage.engine.healths = lambda ids: due.append(list(ids)) or healths(ids)  # type: ignore[method-assign]
    reports: list[int] = []
    correlation_reports = stage.engine.correlation_reports
    stage.engine.correlation_reports = lambda ids: reports.append(len(ids)) or correlation_reports(ids)  # type: ignore[method-assign]
    rng = np.random.default_rng(3)
    every = int(stage.analytics_every_s)
    seconds = 2 * every - 2  # before the machines' first decision (a material change for all, at 1 min)
    for second in range(seconds):
        now[0] = float(second)
        await stage.process(messages(range(1000), second, rng))
    assert len(due[0]) == 1000 and reports[0] == 1000  # the first batch writes every machine
    # then every machine again within a period (periodic, or earlier for a material change), but about
    # 1,000 / period of them per 1-s batch (with the material ones): together they would be 1,000
    assert len(set().union(*due[1 : every + 1])) == 1000
    assert max(len(d) for d in due[1:]) < 250, [len(d) for d in due]
    assert len(reports) == seconds and max(reports[1:]) < 250, reports


async def test_correlation_report_is_rewritten_when_a_window_completes(tmp_path: Path) -> None:
    """Before its first correlation window a machine's report is rewritten every 10 s (it changes with every
    vector); afterwards only once a window completed (every 100 vectors), within 10 s of it."""
    now = [0.0]
    redis = fakeredis.FakeAsyncRedis()
    stage = stage_for(ScoringEngine(), redis, tmp_path)
    stage._clock = lambda: now[0]
    written: list[int] = []
    correlation_reports = stage.engine.correlation_reports
    stage.engine.correlation_reports = lambda ids: written.append(int(now[0])) or correlation_reports(ids)  # type: ignore[method-assign]
    rng = np.random.default_rng(4)
    for second in range(320):
        now[0] = float(second)
        await stage.process(messages(["m"], second, rng))
    first = 99 + phase_of("m", 100)  # the batch of its 100 + phase-th vector: its first window ends there
    early = [s for s in written if s < first]
    assert written[0] == 0 and all(b - a == 10 for a, b in itertools.pairwise(early[1:]))
    assert first - 10 <= early[-1] < first  # every 10 s until then
    late = [s for s in written if s >= first]
    assert len(late) == 2 and first <= late[0] < first + 10 and first + 100 <= late[1] < first + 110, written
    raw = await redis.get(stage.keys.correlations("m"))
    assert raw == stage.engine.correlation_reports(["m"])["m"]
