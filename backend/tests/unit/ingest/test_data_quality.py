"""The consumer's data-quality stage with embedded adapters (MemoryBus, fakeredis, SQLite): a reading out of
its physical range is stored with quality "bad" and kept out of scoring and threshold alarms (a reading
that is only out of its operating range is not); a gap is recorded and stored; a failed batch retried is
counted once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import fakeredis
import numpy as np
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dtwin.alarms.models import AlarmRow
from dtwin.alarms.schemas import AlarmRuleIn
from dtwin.alarms.service import AlarmService
from dtwin.alarms.stage import AlarmStage
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.contracts.changes import AnomalyEventChange
from dtwin.contracts.telemetry import Telemetry
from dtwin.contracts.topics import RedisKeys
from dtwin.data_quality.cleanse import CleanseConfig, Cleanser
from dtwin.data_quality.models import DataGapRow
from dtwin.data_quality.stage import DataQualityStage
from dtwin.ingest.consumer import StageFailed, TelemetryConsumer
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.machine_types.catalogue import catalogue_table, catalogue_types, physical_table_of
from dtwin.readings.models import ReadingRow
from dtwin.twins.store import TwinStore

T0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


class CatalogueRanges:
    """The catalogue's physical ranges, as the registry's OperatingRanges holds them."""

    def __init__(self) -> None:
        self.physical = physical_table_of(catalogue_types())
        self.physical_version = 1


class EngineStage:
    """The scoring stage's part the consumer uses, over a real engine: remembers what each batch scored."""

    def __init__(self) -> None:
        self.engine = ScoringEngine(EngineConfig(), limits=lambda t, s: catalogue_table().get(t, {}).get(s))
        self.last_rul: dict[str, float] = {}
        self.seen: list[Telemetry] = []
        self.scored = 0

    async def process(self, items: Sequence[Telemetry]) -> list[AnomalyEventChange]:
        self.seen += items
        self.scored += int(np.count_nonzero(self.engine.score_batch(items).readings.scored))
        return []


def msg(offset: int, machine: str, s: float, **readings: float) -> BusMessage:
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "centrifugal_pump",
        "ts": (T0 + timedelta(seconds=s)).isoformat().replace("+00:00", "Z"),
        "readings": readings or {"temperature_c": 50.0},
    }
    return BusMessage("telemetry.raw", 0, offset, machine.encode(), orjson.dumps(body), {})


def consumer(
    sessions: async_sessionmaker[AsyncSession],
    *,
    scoring: EngineStage | None = None,
    alarms: AlarmStage | None = None,
    physical: bool = True,
) -> TelemetryConsumer:
    cleanser = Cleanser(CleanseConfig(gap_factor=5, gap_floor_s=10), CatalogueRanges() if physical else None)
    return TelemetryConsumer(
        MemoryBus(),
        sessions,
        TwinStore(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer()), RedisKeys("t")),
        topic="telemetry.raw",
        dlq_topic="telemetry.dlq",
        group="g",
        scoring=scoring,  # type: ignore[arg-type]
        alarms=alarms,
        quality=DataQualityStage(sessions, cleanser),
    )


async def qualities(sessions: async_sessionmaker[AsyncSession], machine: str) -> dict[str, str]:
    async with sessions() as s:
        q = select(ReadingRow.sensor, ReadingRow.quality).where(ReadingRow.machine_id == machine)
        return {sensor: quality for sensor, quality in (await s.execute(q)).all()}


@pytest.mark.parametrize("physical", [True, False], ids=["physical-ranges", "no-physical-ranges"])
async def test_a_reading_out_of_its_physical_range_is_stored_bad_and_neither_scored_nor_alarmed(
    sessions: async_sessionmaker[AsyncSession], physical: bool
) -> None:
    async with sessions() as session:  # hi 80 °C on every pump
        body = AlarmRuleIn(
            name="hot", machine_type="centrifugal_pump", sensor="temperature_c", kind="hi", threshold=80.0
        )
        await AlarmService(session).create_rule(body, "user:test")
    scoring, alarms = EngineStage(), AlarmStage(sessions)
    c = consumer(sessions, scoring=scoring, alarms=alarms, physical=physical)
    # pump-broken: 900 °C is a broken sensor; pump-hot: 95 °C is a hot pump (operating range 35..80)
    await c.process_batch(
        [
            msg(0, "pump-broken", 0, temperature_c=900.0, vibration_mm_s=2.0),
            msg(1, "pump-hot", 0, temperature_c=95.0),
        ]
    )

    stored = await qualities(sessions, "pump-broken")
    assert stored == (
        {"temperature_c": "bad", "vibration_mm_s": "good"} if physical else dict.fromkeys(stored, "good")
    )
    assert await qualities(sessions, "pump-hot") == {"temperature_c": "good"}
    broken = next(t for t in scoring.seen if t.machine_id == "pump-broken")
    assert math.isnan(broken.readings["temperature_c"]) is physical
    assert scoring.scored == (2 if physical else 3)  # vibration and the hot pump's temperature (+ 900 °C)
    async with sessions() as session:
        alarmed = set((await session.scalars(select(AlarmRow.machine_id))).all())
    assert alarmed == ({"pump-hot"} if physical else {"pump-hot", "pump-broken"})
    assert c.quality is not None
    assert c.quality.totals["physical_range"] == (1 if physical else 0)


async def test_a_gap_is_recorded_when_the_machine_resumes_and_stored_by_the_flush(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    c = consumer(sessions)
    await c.process_batch([msg(k, "pump-1", k) for k in range(5)])  # every second
    await c.process_batch([msg(5, "pump-1", 70)])  # silent for 66 s
    assert c.quality is not None and await c.quality.flush()
    async with sessions() as session:
        gaps = [
            (g.machine_id, g.start, g.end, g.seconds)
            for g in (await session.scalars(select(DataGapRow))).all()
        ]
    assert gaps == [("pump-1", T0 + timedelta(seconds=4), T0 + timedelta(seconds=70), 66.0)]
    assert c.quality.totals["gap"] == 1


async def test_a_batch_that_fails_and_is_retried_is_counted_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    c = consumer(sessions)
    await c.process_batch([msg(k, "pump-1", k) for k in range(5)])
    batch = [msg(5, "pump-1", 70, temperature_c=900.0)]
    store = c.store.apply

    async def fail_once(*args: object, **kwargs: object) -> list[str]:
        c.store.apply = store  # type: ignore[method-assign]
        raise ConnectionError("redis went away")

    c.store.apply = fail_once  # type: ignore[method-assign]
    with pytest.raises(StageFailed):  # an infrastructure failure: the consumer retries the batch
        await c.process_batch(batch)
    await c.process_batch(batch)  # the retry
    assert c.quality is not None
    assert (c.quality.totals["gap"], c.quality.totals["physical_range"]) == (1, 1)
    assert await qualities(sessions, "pump-1") == {"temperature_c": "bad"}
