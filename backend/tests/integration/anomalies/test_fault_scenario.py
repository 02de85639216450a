"""A simulated fault scenario through the real consumer (PostgreSQL, Redis, Kafka): the faulty machine gets
anomaly events, a health drop and a defensive decision; its healthy siblings get none of that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from dtwin.anomalies.engine import ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.models import AnomalyEventRow, DecisionRow
from dtwin.anomalies.scoring import ScoringStage
from dtwin.config import Settings
from dtwin.contracts.topics import RedisKeys
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.kit.bus import BusMessage, KafkaBus
from dtwin.machine_types.catalogue import catalogue_table
from dtwin.twins.store import TwinStore
from dtwin_devkit.testing import read_topic
from dtwin_pipeline.simulator.fault_kinds import FaultSpec
from dtwin_pipeline.simulator.fleet import Fleet, SimulatorConfig
from tests.fixed_dates import FIXED_DATES_LIMITS

pytestmark = pytest.mark.slow
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
HOURS = 3


async def test_bearing_wear_is_found_on_the_faulty_machine_only(
    real_settings: Settings, real_redis: aioredis.Redis, tmp_path: Path
) -> None:
    s = real_settings
    fleet = Fleet(
        SimulatorConfig(
            machines=4,
            types=["centrifugal_pump"],
            rate_hz=1,
            seed=3,
            start=T0,
            id_offset=5000,
            faults=[
                FaultSpec(
                    kind="bearing_wear",
                    type="centrifugal_pump",
                    nth=1,
                    start_s=3600,
                    end_s=HOURS * 3600,
                    params={"severity": 1.0},
                )
            ],
        )
    )
    ids = [m.id for m in fleet.machines]
    faulty, healthy = ids[0], ids[1:]
    bus = KafkaBus(s.kafka_bootstrap or "")
    await bus.start()
    await bus.ensure_topics({s.topic_anomaly_events: 1, s.topic_decisions: 1})
    engine_db = create_engine(s.database_url)
    sessions = create_sessionmaker(engine_db)
    stage = ScoringStage(
        ScoringEngine(limits=catalogue_table()),
        redis=real_redis,
        keys=RedisKeys(s.redis_prefix),
        bus=bus,
        sessions=sessions,
        events_topic=s.topic_anomaly_events,
        decisions_topic=s.topic_decisions,
        model_store=FileModelStore(tmp_path / "models"),
    )
    consumer = TelemetryConsumer(
        bus,
        sessions,
        TwinStore(real_redis, RedisKeys(s.redis_prefix)),
        limits=FIXED_DATES_LIMITS,
        topic=s.topic_telemetry,
        dlq_topic=s.topic_dlq,
        group=s.consumer_group,
        scoring=stage,
    )
    try:
        offset = 0
        for minute in range(HOURS * 60):
            batch = []
            for k in range(60):
                for o in fleet.tick(T0 + timedelta(seconds=minute * 60 + k), 1.0):
                    batch.append(
                        BusMessage(
                            s.topic_telemetry,
                            0,
                            offset,
                            o.machine.id.encode(),
                            o.payload,
                            {"site": o.machine.site, "line": o.machine.line},
                        )
                    )
                    offset += 1
            await consumer.process_batch(batch)
            if minute % 10 == 9:
                await stage.train_once(None)  # healthy data first: the type model learns them
        assert stage.engine.model("centrifugal_pump") is not None

        async with sessions() as session:
            events = (
                await session.scalars(select(AnomalyEventRow).where(AnomalyEventRow.machine_id.in_(ids)))
            ).all()
            decisions = (
                await session.scalars(select(DecisionRow).where(DecisionRow.machine_id.in_(ids)))
            ).all()
        starts = [e for e in events if e.kind == "start"]
        assert any(e.machine_id == faulty for e in starts)
        assert not [e for e in starts if e.machine_id in healthy], [(e.machine_id, e.ts) for e in starts]
        first = min(e.ts for e in starts if e.machine_id == faulty)
        assert first >= T0 + timedelta(hours=1)  # nothing before the fault began
        explained = [c["sensor"] for e in starts if e.machine_id == faulty for c in e.explanation]
        assert set(explained) & {"vibration_mm_s", "bearing_temperature_c", "temperature_c"}

        health = {m: float(await real_redis.hget(f"{s.redis_prefix}:twin:{m}", "health")) for m in ids}
        assert health[faulty] < min(health[m] for m in healthy) - 10, health
        latest = {}
        for d in sorted(decisions, key=lambda d: (d.ts, d.id)):
            latest[d.machine_id] = d.strategy
        assert latest.get(faulty) == "defensive", latest
        assert all(latest.get(m) != "defensive" for m in healthy), latest

        await bus.flush()
        published = await read_topic(s.kafka_bootstrap or "", s.topic_anomaly_events, at_least=1)
        assert {orjson.loads(r.value)["machine_id"] for r in published} == {faulty}
    finally:
        await bus.stop()
        await engine_db.dispose()
