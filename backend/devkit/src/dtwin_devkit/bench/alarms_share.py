"""`python -m dtwin_devkit.bench.alarms_share`: what alarm evaluation adds to the consumer's per-batch cost
(issue #17: at most 10% at 50,000 readings/s). Runs `TelemetryConsumer.process_batch` (validate, COPY into
PostgreSQL, twin update in Redis, registry, event log, snapshots) over synthetic batches of one message per
machine (5,000 machines x 10 sensors = 50,000 readings per batch) against throwaway PostgreSQL and Redis,
with and without the alarms stage, batches interleaved. The stage evaluates a hi and a hihi rule on every
sensor (100,000 series); ~0.2% of machines spike on one sensor per tick, so alarms are raised and cleared
(with their history rows and change-stream messages) in every batch. Prints Markdown; appends to `--out`;
exits non-zero when it measured nothing."""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis

from dtwin.alarms.schemas import AlarmRuleIn, RuleKind
from dtwin.alarms.service import AlarmService
from dtwin.alarms.stage import AlarmStage, Placement
from dtwin.config import Settings
from dtwin.contracts.alarms import Priority
from dtwin.contracts.changes import AlarmChange, AnomalyEventChange
from dtwin.contracts.telemetry import Telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.core.change_stream import ChangeStream
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.migrate import upgrade_sync
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import MemoryBus
from dtwin_devkit.bench.report import publish
from dtwin_devkit.bench.scoring_share import TYPE, SyntheticFleet, backend_gc, bench_consumer, messages
from dtwin_devkit.servers import running

# a hi and a hihi rule per sensor: base ~30-74, so a spike of +25 may cross hi, rarely hihi
LEVELS: tuple[tuple[RuleKind, float, Priority], ...] = (("hi", 80.0, "medium"), ("hihi", 95.0, "high"))


class TimedAlarms(AlarmStage):
    """The alarms stage, timing its whole `process` and counting the transitions it wrote."""

    total_s: float = 0.0
    transitions: int = 0

    async def process(
        self,
        items: Sequence[Telemetry],
        placement: Mapping[str, Placement],
        anomalies: Sequence[AnomalyEventChange] = (),
        rul: Mapping[str, float] | None = None,
        rejected: int = 0,
    ) -> list[AlarmChange]:
        t = time.perf_counter()
        changed = await super().process(items, placement, anomalies, rul, rejected)
        self.total_s += time.perf_counter() - t
        self.transitions += len(changed)
        return changed


@dataclass
class Samples:
    plain_ms: list[float] = field(default_factory=list)
    with_ms: list[float] = field(default_factory=list)
    stage_ms: list[float] = field(default_factory=list)
    transitions: list[int] = field(default_factory=list)
    series: int = 0


async def measure(machines: int, sensors: int, batches: int) -> Samples:
    s = Settings()
    with running("postgres", "redis") as servers:
        db_url, redis_url = servers["postgres"].url, servers["redis"].url
        await asyncio.to_thread(upgrade_sync, db_url)
        redis = aioredis.from_url(redis_url)
        engine_db = create_engine(db_url)
        sessions = create_sessionmaker(engine_db)
        bus = MemoryBus()
        for i in range(sensors):
            for kind, threshold, priority in LEVELS:
                body = AlarmRuleIn(
                    name=f"s{i} {kind}",
                    machine_type=TYPE,
                    sensor=f"s{i}",
                    kind=kind,
                    threshold=threshold,
                    deadband=2.0,
                    priority=priority,
                )
                async with sessions() as session:
                    await AlarmService(session).create_rule(body, "bench")

        def consumer(prefix: str, alarms: AlarmStage | None) -> TelemetryConsumer:
            return bench_consumer(s, bus, sessions, redis, prefix, alarms=alarms)

        stage = TimedAlarms(sessions, changes=ChangeStream(redis, RedisKeys("bench-alarms")))
        with_alarms, plain = consumer("bench-alarms", stage), consumer("bench-plain", None)
        fleet_a = SyntheticFleet(machines, sensors, "a", seed=1)
        fleet_b = SyntheticFleet(machines, sensors, "b", seed=1)
        out = Samples()
        backend_gc(s)
        try:
            second, offset = 0, 0
            for k in range(3 + batches):  # 3 untimed batches create the twins and the series
                now = datetime.now(UTC)  # stamped with the clock, as live telemetry is (not late)
                a = messages(s.topic_telemetry, fleet_a.payloads(second, now), offset)
                b = messages(s.topic_telemetry, fleet_b.payloads(second, now), offset + machines)
                offset += 2 * machines
                second += 1
                order = [(with_alarms, a), (plain, b)] if k % 2 == 0 else [(plain, b), (with_alarms, a)]
                for c, batch in order:
                    stage_s, transitions = stage.total_s, stage.transitions
                    t = time.perf_counter()
                    await c.process_batch(batch)
                    dt = time.perf_counter() - t
                    if k < 3:
                        continue
                    if c is with_alarms:
                        out.with_ms.append(1000 * dt)
                        out.stage_ms.append(1000 * (stage.total_s - stage_s))
                        out.transitions.append(stage.transitions - transitions)
                    else:
                        out.plain_ms.append(1000 * dt)
            out.series = int(stage.evaluator.active.shape[0])
        finally:
            await redis.aclose()
            await engine_db.dispose()
    return out


def markdown(x: Samples, machines: int, sensors: int, batches: int, took_s: float) -> str:
    med = statistics.median
    plain, with_, stage = med(x.plain_ms), med(x.with_ms), med(x.stage_ms)
    ratios = [st / p for st, p in zip(x.stage_ms, x.plain_ms, strict=True)]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"### Alarm evaluation's share of the consumer batch, {now}",
            "",
            f"Machine: {platform.machine()}, Python {platform.python_version()}. "
            "`python -m dtwin_devkit.bench.alarms_share`: `TelemetryConsumer.process_batch` on throwaway "
            f"PostgreSQL and Redis, batches of {machines:,} messages x {sensors} sensors "
            f"({machines * sensors:,} readings: one batch per second at 50,000 readings/s), {batches} "
            f"batches with the alarms stage ({x.series:,} rule series: hi and hihi on every sensor, "
            f"deadband 2) and {batches} without, interleaved. Medians; took {took_s:.0f} s.",
            "",
            "| measure | value |",
            "| --- | ---: |",
            f"| consumer batch without alarms, ms | {plain:.0f} |",
            f"| consumer batch with alarms, ms | {with_:.0f} |",
            f"| alarms stage (evaluation + transitions written), ms | {stage:.1f} |",
            f"| transitions per batch (raised + cleared, median) | {med(x.transitions):.0f} |",
            f"| alarms stage / consumer batch without it (median of per-batch ratios; target <= 10%) "
            f"| {100 * med(ratios):.1f}% |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=5000)
    parser.add_argument("--sensors", type=int, default=10)
    parser.add_argument("--batches", type=int, default=15, help="timed batches per variant")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    x = asyncio.run(measure(args.machines, args.sensors, args.batches))
    if not x.stage_ms or not x.plain_ms or x.series == 0 or sum(x.transitions) == 0:
        sys.exit("measured nothing: no timed batch, no rule series or no alarm transition")
    publish(markdown(x, args.machines, args.sensors, args.batches, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
