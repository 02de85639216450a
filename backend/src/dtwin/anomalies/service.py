"""What the analytics room answers, as API schemas: the live analytics the scoring stage last wrote onto a
machine's twin and its correlation report (Redis), and the stored anomaly events and decisions
(PostgreSQL, through the repository). Used by the routes and by the WebSocket's snapshots."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import orjson
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from dtwin.anomalies.repository import AnomalyRepository
from dtwin.anomalies.schemas import AnomalyEventRead, CorrelationsRead, DecisionRead, HealthRead
from dtwin.contracts.strategies import canonical_strategy
from dtwin.contracts.topics import RedisKeys


class AnomalyHistory:
    """Stored anomaly events and strategy decisions of one session (a request's, or a snapshot's)."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = AnomalyRepository(session)

    async def events(
        self, machine_id: str, *, start: datetime, end: datetime, limit: int
    ) -> list[AnomalyEventRead]:
        """The machine's events in [start, end], oldest first."""
        rows = await self.repo.events(machine_id, start=start, end=end, limit=limit)
        return [AnomalyEventRead.model_validate(r) for r in rows]

    async def decisions(
        self, machine_id: str, *, start: datetime, end: datetime, limit: int
    ) -> list[DecisionRead]:
        """The machine's decisions in [start, end], oldest first."""
        rows = await self.repo.decisions(machine_id, start=start, end=end, limit=limit)
        return [DecisionRead.model_validate(r) for r in rows]

    async def open_episode_at(self, machine_id: str, at: datetime) -> AnomalyEventRead | None:
        """The newest event of the anomaly episode open at `at` (None if the newest event then resolved
        its episode, or there was none)."""
        row = await self.repo.event_at(machine_id, at)
        return None if row is None or row.kind == "resolved" else AnomalyEventRead.model_validate(row)

    async def decision_at(self, machine_id: str, at: datetime) -> DecisionRead | None:
        """The strategy decision in force at `at`: the newest stored at or before it (a decision is stored
        when the machine's strategy changes)."""
        row = await self.repo.decision_at(machine_id, at)
        return None if row is None else DecisionRead.model_validate(row)

    async def newest_events(self, machine_ids: Collection[str] | None, limit: int) -> list[AnomalyEventRead]:
        """The newest `limit` events (of these machines, or of all), newest first."""
        return [AnomalyEventRead.model_validate(r) for r in await self.repo.newest_events(machine_ids, limit)]

    async def newest_decisions(self, machine_ids: Collection[str] | None, limit: int) -> list[DecisionRead]:
        """The newest `limit` decisions (of these machines, or of all), newest first."""
        return [DecisionRead.model_validate(r) for r in await self.repo.newest_decisions(machine_ids, limit)]


class LiveAnalytics:
    """A machine's current analytics as the scoring stage last wrote them to Redis (by whichever backend
    process scores the machine)."""

    def __init__(self, redis: aioredis.Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def health(self, machine_id: str) -> HealthRead:
        """Health, anomaly, RUL and strategy from the twin's `analytics` field; `scored` false without it."""
        raw = await self.redis.hget(self.keys.twin(machine_id), "analytics")
        if not raw:
            return HealthRead(machine_id=machine_id, scored=False)
        a = orjson.loads(raw)
        detail = a.get("health_detail") or {}
        decision = a.get("decision")
        if isinstance(decision, dict):  # written before issue #16: the old strategy names
            decision = {**decision, "strategy": canonical_strategy(decision.get("strategy"))}
        return HealthRead(
            machine_id=machine_id,
            scored=True,
            health=a.get("health"),
            anomaly_score=a.get("score"),
            is_anomaly=a.get("is_anomaly"),
            explanation=a.get("explanation") or [],
            rul=a.get("rul"),
            trend_per_hour=detail.get("trend_per_hour"),
            strategy=a.get("strategy"),
            decision=decision,
            ts=a.get("ts"),
        )

    async def correlations(self, machine_id: str) -> CorrelationsRead:
        """The machine's last correlation report; empty until the scoring stage has written one."""
        raw = await self.redis.get(self.keys.correlations(machine_id))
        if not raw:
            return CorrelationsRead(machine_id=machine_id)
        report = orjson.loads(raw)
        return CorrelationsRead(
            machine_id=machine_id, sensors=report["sensors"], matrix=report["matrix"], breaks=report["breaks"]
        )
