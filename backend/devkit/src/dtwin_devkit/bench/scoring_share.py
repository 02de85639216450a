"""`python -m dtwin_devkit.bench.scoring_share`: what scoring adds to the consumer's per-batch cost. Runs the
consumer's per-batch processing (`TelemetryConsumer.process_batch`: validate, COPY into PostgreSQL, twin
update in Redis, registry, event log, snapshots) over synthetic batches of one message per machine (5,000
machines x 10 sensors = 50,000 readings per batch, i.e. 50,000 readings/s at 1 Hz) against throwaway
PostgreSQL and Redis, with and without the scoring stage, batches interleaved. Prints Markdown; appends to
`--out`."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import orjson
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.stage import AlarmStage
from dtwin.anomalies.decisions import Decision
from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.results import MachineHealth
from dtwin.anomalies.scoring import ScoringStage
from dtwin.anomalies.type_model import fit_model
from dtwin.config import Settings
from dtwin.contracts.changes import AnomalyEventChange
from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.metrics import BATCH_STAGES, Metrics
from dtwin.core.migrate import upgrade_sync
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.twins.durable import Durability, StateSnapshots, TwinRegistry
from dtwin.twins.events import TwinEventLog
from dtwin.twins.store import TwinStore
from dtwin_devkit.bench.report import publish
from dtwin_devkit.servers import running

TYPE = "bench_pump"
T0 = datetime(2026, 11, 23, tzinfo=UTC)


class SyntheticFleet:
    """Machines at their own operating points: a shared slow load walk per machine drives every sensor
    (so a load change moves them together), 1%-of-range noise, and ~0.2% of machines with a spike on one
    sensor per tick (events and explanations are part of the cost)."""

    def __init__(self, machines: int, sensors: int, prefix: str, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.ids = [f"{prefix}-{j:05d}" for j in range(machines)]
        self.sensors = [f"s{i}" for i in range(sensors)]
        self.base = self.rng.uniform(30.0, 60.0, (machines, sensors))
        self.gain = self.rng.uniform(5.0, 20.0, (machines, sensors))
        self.load = self.rng.uniform(0.3, 0.7, machines)

    def payloads(self, second: int, at: datetime | None = None) -> list[bytes]:
        """One message per machine stamped T0 + `second` (or `at`)."""
        self.load = np.clip(self.load + self.rng.normal(0.0, 0.005, self.load.shape), 0.05, 1.0)
        v = self.base + self.gain * self.load[:, None] + self.rng.normal(0.0, 1.0, self.base.shape)
        hit = self.rng.random(len(self.ids)) < 0.002
        v[hit, self.rng.integers(0, len(self.sensors), int(hit.sum()))] += 25.0
        ts = (at or T0 + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
        return [
            orjson.dumps(
                {
                    "schema": 1,
                    "machine_id": mid,
                    "machine_type": TYPE,
                    "ts": ts,
                    "readings": dict(zip(self.sensors, np.round(row, 3).tolist(), strict=True)),
                    "site": "site-1",
                    "line": "line-1",
                }
            )
            for mid, row in zip(self.ids, v, strict=True)
        ]


class TimedEngine(ScoringEngine):
    """The engine, timing the per-batch health and decision queries the stage makes (score_batch is timed
    by the stage's own `seconds` counter)."""

    query_s: float = 0.0

    def healths(self, machine_ids: Sequence[str]) -> dict[str, MachineHealth]:
        t = time.perf_counter()
        out = super().healths(machine_ids)
        self.query_s += time.perf_counter() - t
        return out

    def decisions(self, machine_ids: Sequence[str]) -> dict[str, Decision]:
        t = time.perf_counter()
        out = super().decisions(machine_ids)
        self.query_s += time.perf_counter() - t
        return out


class TimedStage(ScoringStage):
    """The scoring stage, timing its whole `process` (engine + Redis writes + event/decision storage)."""

    total_s: float = 0.0

    async def process(self, items: Sequence[Telemetry]) -> list[AnomalyEventChange]:
        t = time.perf_counter()
        stored = await super().process(items)
        self.total_s += time.perf_counter() - t
        return stored


@dataclass
class Samples:
    plain_ms: list[float] = field(default_factory=list)
    scored_ms: list[float] = field(default_factory=list)
    stage_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)
    queries_ms: list[float] = field(default_factory=list)
    plain_stages_ms: dict[str, float] = field(default_factory=dict)  # mean per batch, by consumer stage


def bench_consumer(
    s: Settings,
    bus: MemoryBus,
    sessions: async_sessionmaker[AsyncSession],
    redis: aioredis.Redis,
    prefix: str,
    *,
    scoring: ScoringStage | None = None,
    alarms: AlarmStage | None = None,
) -> TelemetryConsumer:
    """The consumer as the backend builds it (registry, event log, snapshots), twins under `prefix`."""
    store = TwinStore(redis, RedisKeys(prefix))
    snapshots = StateSnapshots(bus, s.topic_state, store, s.state_snapshot_interval_s)
    return TelemetryConsumer(
        bus,
        sessions,
        store,
        topic=s.topic_telemetry,
        dlq_topic=s.topic_dlq,
        group=s.consumer_group,
        events=TwinEventLog(sessions),
        durable=Durability(TwinRegistry(sessions), snapshots),
        scoring=scoring,
        alarms=alarms,
    )


def backend_gc(s: Settings) -> None:
    """The garbage-collector and malloc tuning the backend applies after its startup (`DTWIN_GC_TUNING`,
    `DTWIN_MALLOC_TUNING`), so the consumer batches here run as the backend's do. `getattr`: code before
    the settings (A/B runs of an older checkout through PYTHONPATH) has none."""
    if getattr(s, "gc_tuning", False):
        from dtwin.core.runtime import tune_gc

        tune_gc()
    if getattr(s, "malloc_tuning", False):
        from dtwin.core.runtime import tune_malloc

        tune_malloc()


def messages(topic: str, payloads: list[bytes], offset: int) -> list[BusMessage]:
    return [BusMessage(topic, 0, offset + i, None, p, {}) for i, p in enumerate(payloads)]


async def measure(machines: int, sensors: int, warmup: int, batches: int, models_dir: Path) -> Samples:
    s = Settings()
    with running("postgres", "redis") as servers:
        db_url, redis_url = servers["postgres"].url, servers["redis"].url
        await asyncio.to_thread(upgrade_sync, db_url)
        redis = aioredis.from_url(redis_url)
        engine_db = create_engine(db_url)
        sessions = create_sessionmaker(engine_db)
        bus = MemoryBus()

        def consumer(prefix: str, scoring: ScoringStage | None) -> TelemetryConsumer:
            return bench_consumer(s, bus, sessions, redis, prefix, scoring=scoring)

        engine = TimedEngine(limits={TYPE: {f"s{i}": (0.0, 100.0) for i in range(sensors)}})
        second, offset = 0, 0
        clock: dict[str, Any] = {"clock": lambda: float(second)}  # a batch = a second of telemetry, as live
        if "clock" not in inspect.signature(ScoringStage).parameters:
            clock = {}  # code before the stage's clock (A/B runs of an older checkout through PYTHONPATH)
        stage = TimedStage(
            engine,
            redis=redis,
            keys=RedisKeys("bench-scored"),
            bus=bus,
            sessions=sessions,
            events_topic=s.topic_anomaly_events,
            decisions_topic=s.topic_decisions,
            model_store=FileModelStore(models_dir),
            **clock,
        )
        scored, plain = consumer("bench-scored", stage), consumer("bench-plain", None)
        laps = Metrics()  # the plain batch's stage laps over the timed batches (attached when they start)
        fleet_a = SyntheticFleet(machines, sensors, "a", seed=1)
        fleet_b = SyntheticFleet(machines, sensors, "b", seed=1)
        out = Samples()
        try:
            # detector warm-up and the type model, straight through the engine (not timed), in the
            # seconds before now; the timed batches are stamped with the clock, as live telemetry is
            # (a batch stamped in the past takes the late-readings path: rollup buckets marked dirty)
            start = datetime.now(UTC) - timedelta(seconds=warmup)
            for _ in range(warmup):
                at = start + timedelta(seconds=second)
                items = [
                    m for p in fleet_a.payloads(second, at) if isinstance(m := parse_telemetry(p), Telemetry)
                ]
                fleet_b.payloads(second, at)
                stage.engine.score_batch(items)
                second += 1
            for job in stage.engine.training_due():
                stage.engine.install_model(fit_model(*job, trained_at=stage.engine.now))
            backend_gc(s)
            for k in range(3 + batches):  # 3 untimed batches create the twins and warm the connections
                now = datetime.now(UTC)
                a = messages(s.topic_telemetry, fleet_a.payloads(second, now), offset)
                b = messages(s.topic_telemetry, fleet_b.payloads(second, now), offset + machines)
                offset += 2 * machines
                second += 1
                order = [(scored, a), (plain, b)] if k % 2 == 0 else [(plain, b), (scored, a)]
                if k == 3:  # both consumers keep stage laps (the same overhead), the plain one's are read
                    plain.metrics, scored.metrics = laps, Metrics()
                for c, batch in order:
                    engine_s, stage_s, query_s = stage.seconds, stage.total_s, engine.query_s
                    t = time.perf_counter()
                    await c.process_batch(batch)
                    dt = time.perf_counter() - t
                    if k < 3:
                        continue
                    if c is scored:
                        out.scored_ms.append(1000 * dt)
                        out.stage_ms.append(1000 * (stage.total_s - stage_s))
                        out.engine_ms.append(1000 * (stage.seconds - engine_s))
                        out.queries_ms.append(1000 * (engine.query_s - query_s))
                    else:
                        out.plain_ms.append(1000 * dt)
            for name in BATCH_STAGES:
                got = laps.registry.get_sample_value("dtwin_consumer_stage_seconds_sum", {"stage": name})
                out.plain_stages_ms[name] = 1000 * (got or 0.0) / batches
        finally:
            await redis.aclose()
            await engine_db.dispose()
    return out


def markdown(x: Samples, machines: int, sensors: int, batches: int, took_s: float) -> str:
    med = statistics.median
    plain, scored, stage, eng = med(x.plain_ms), med(x.scored_ms), med(x.stage_ms), med(x.engine_ms)
    queries = med(x.queries_ms)
    readings = machines * sensors
    ratios = [st / p for st, p in zip(x.stage_ms, x.plain_ms, strict=True)]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Scoring's share of the consumer batch, {now}",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}. "
        "`python -m dtwin_devkit.bench.scoring_share`: `TelemetryConsumer.process_batch` (validate, COPY "
        "into PostgreSQL, twin update in Redis, registry, event log, snapshots) on throwaway PostgreSQL and "
        f"Redis, batches of {machines:,} messages x {sensors} sensors ({readings:,} readings: one batch per "
        f"second at 50,000 readings/s over {machines:,} machines), {batches} batches with the scoring "
        f"stage and {batches} without, interleaved, after a detector warm-up"
        f" and with the type model installed. Medians; took {took_s:.0f} s.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| consumer batch without scoring, ms | {plain:.0f} |",
        f"| consumer batch with scoring, ms | {scored:.0f} |",
        f"| consumer batch with scoring, mean ms (cost per reading: mean / {readings:,}) "
        f"| {statistics.fmean(x.scored_ms):.0f} |",
        f"| scoring stage (engine + Redis analytics + events/decisions), ms | {stage:.0f} |",
        f"| scoring engine alone (`score_batch`), ms | {eng:.1f} |",
        f"| health and decision queries for the touched machines, ms | {queries:.1f} |",
        f"| rest of the stage (per-machine analytics JSON, Redis writes, change stream, storage), ms "
        f"| {stage - eng - queries:.0f} |",
        f"| scoring engine alone, readings/s | {readings / (eng / 1000):,.0f} |",
        f"| scoring stage / consumer batch without it (median of per-batch ratios; target <= 20%) "
        f"| {100 * med(ratios):.1f}% |",
        f"| scoring stage / consumer batch without it, means (the periodic detail rewrites included at their "
        f"average rate) | {100 * statistics.fmean(x.stage_ms) / statistics.fmean(x.plain_ms):.1f}% |",
        f"| scoring stage, mean / max ms | {statistics.fmean(x.stage_ms):.0f} / {max(x.stage_ms):.0f} |",
        f"| (with - without) / without, medians | {100 * (scored - plain) / plain:.1f}% |",
        f"| engine + queries / consumer batch without scoring | {100 * (eng + queries) / plain:.1f}% |",
        "",
        "The consumer batch without scoring by stage (mean ms per batch): "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(x.plain_stages_ms.items(), key=lambda kv: -kv[1]) if v)
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=5000)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument(
        "--warmup",
        type=int,
        default=210,
        help="ticks before timing: past every machine's first correlation window (100 + its phase, "
        "< 200 vectors) and first decision (60)",
    )
    parser.add_argument("--batches", type=int, default=15, help="timed batches per variant")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with TemporaryDirectory() as tmp:
        x = asyncio.run(measure(args.machines, args.sensors, args.warmup, args.batches, Path(tmp)))
    if not sum(x.plain_stages_ms.values()):
        raise SystemExit("the consumer's stage laps measured nothing")
    text = markdown(x, args.machines, args.sensors, args.batches, time.perf_counter() - started)
    publish(text, args.out)


if __name__ == "__main__":
    main()
