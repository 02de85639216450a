"""Analytics of one machine: current health and RUL, anomaly events, sensor correlations, strategy decisions.
Live values come from the twin in Redis (written by whichever backend process scores the machine); history
comes from PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from sqlalchemy import select

from dtwin.anomalies.models import AnomalyEventRow, DecisionRow
from dtwin.anomalies.schemas import (
    AnomalyEventRead,
    AnomalyList,
    CorrelationsRead,
    DecisionList,
    DecisionRead,
    HealthRead,
)
from dtwin.anomalies.scoring import correlations_key
from dtwin.core.deps import AdaptersDep, SessionDep
from dtwin.core.http import From, MachineId, To, window
from dtwin.errors import problem_responses
from dtwin.twins.deps import TwinServiceDep

router = APIRouter(prefix="/twins", tags=["analytics"])
DAY = timedelta(days=1)


@router.get("/{machine_id}/health", response_model=HealthRead, responses=problem_responses(404))
async def health(machine_id: MachineId, twins: TwinServiceDep, adapters: AdaptersDep) -> HealthRead:
    """The machine's health, current anomaly (with the sensors that contributed most), remaining useful life
    and strategy. `scored` is false until the scoring engine has seen the machine."""
    await twins.ensure_exists(machine_id)
    raw = await adapters.redis.hget(adapters.keys.twin(machine_id), "analytics")
    if not raw:
        return HealthRead(machine_id=machine_id, scored=False)
    a = orjson.loads(raw)
    detail = a.get("health_detail") or {}
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
        decision=a.get("decision"),
        ts=a.get("ts"),
    )


@router.get("/{machine_id}/anomalies", response_model=AnomalyList, responses=problem_responses(404, 422))
async def anomalies(
    machine_id: MachineId,
    twins: TwinServiceDep,
    session: SessionDep,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> AnomalyList:
    """Anomaly events (start, update, resolved) in [from, to], oldest first, each with its score, threshold,
    detector and explanation."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, DAY)
    q = (
        select(AnomalyEventRow)
        .where(
            AnomalyEventRow.machine_id == machine_id, AnomalyEventRow.ts >= start, AnomalyEventRow.ts <= end
        )
        .order_by(AnomalyEventRow.ts, AnomalyEventRow.id)
        .limit(limit)
    )
    rows = (await session.scalars(q)).all()
    return AnomalyList(machine_id=machine_id, items=[AnomalyEventRead.model_validate(r) for r in rows])


@router.get("/{machine_id}/decisions", response_model=DecisionList, responses=problem_responses(404, 422))
async def decisions(
    machine_id: MachineId,
    twins: TwinServiceDep,
    session: SessionDep,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> DecisionList:
    """Strategy decisions (defensive, aggressive, stable, monitor) in [from, to], oldest first, with
    confidence, the risk/opportunity/stability assessment and the reasons."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, DAY)
    q = (
        select(DecisionRow)
        .where(DecisionRow.machine_id == machine_id, DecisionRow.ts >= start, DecisionRow.ts <= end)
        .order_by(DecisionRow.ts, DecisionRow.id)
        .limit(limit)
    )
    rows = (await session.scalars(q)).all()
    return DecisionList(machine_id=machine_id, items=[DecisionRead.model_validate(r) for r in rows])


@router.get("/{machine_id}/correlations", response_model=CorrelationsRead, responses=problem_responses(404))
async def correlations(
    machine_id: MachineId, twins: TwinServiceDep, adapters: AdaptersDep
) -> CorrelationsRead:
    """Sensor correlation matrix over the machine's recent window (default 100 readings) and correlation
    breaks. Refreshed by the scoring engine at most every 10 s per machine."""
    await twins.ensure_exists(machine_id)
    raw = await adapters.redis.get(correlations_key(adapters.keys, machine_id))
    if not raw:
        return CorrelationsRead(machine_id=machine_id)
    report = orjson.loads(raw)
    return CorrelationsRead(
        machine_id=machine_id, sensors=report["sensors"], matrix=report["matrix"], breaks=report["breaks"]
    )
