"""Analytics of one machine: current health and RUL, anomaly events, sensor correlations, strategy decisions.
Live values come from the twin in Redis (written by whichever backend process scores the machine); history
comes from PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from dtwin.anomalies.deps import AnomalyHistoryDep, LiveAnalyticsDep
from dtwin.anomalies.schemas import AnomalyList, CorrelationsRead, DecisionList, HealthRead
from dtwin.auth.deps import allow
from dtwin.auth.identity import Role
from dtwin.core.http import From, MachineId, To, window
from dtwin.errors import problem_responses
from dtwin.twins.deps import TwinServiceDep

router = APIRouter(prefix="/twins", tags=["analytics"], dependencies=[allow(Role.viewer)])
DAY = timedelta(days=1)


@router.get("/{machine_id}/health", response_model=HealthRead, responses=problem_responses(404))
async def health(machine_id: MachineId, twins: TwinServiceDep, live: LiveAnalyticsDep) -> HealthRead:
    """The machine's health, current anomaly (with the sensors that contributed most), remaining useful life
    and strategy. `scored` is false until the scoring engine has seen the machine."""
    await twins.ensure_exists(machine_id)
    return await live.health(machine_id)


@router.get("/{machine_id}/anomalies", response_model=AnomalyList, responses=problem_responses(404, 422))
async def anomalies(
    machine_id: MachineId,
    twins: TwinServiceDep,
    history: AnomalyHistoryDep,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> AnomalyList:
    """Anomaly events (start, update, resolved) in [from, to], oldest first, each with its score, threshold,
    detector and explanation."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, DAY)
    items = await history.events(machine_id, start=start, end=end, limit=limit)
    return AnomalyList(machine_id=machine_id, items=items)


@router.get("/{machine_id}/decisions", response_model=DecisionList, responses=problem_responses(404, 422))
async def decisions(
    machine_id: MachineId,
    twins: TwinServiceDep,
    history: AnomalyHistoryDep,
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> DecisionList:
    """Strategy decisions (`defensive`, `neutral`, `stable_growth`, `aggressive`) in [from, to], oldest
    first, with confidence, the risk/opportunity/stability assessment and the reasons."""
    await twins.ensure_exists(machine_id)
    start, end = window(from_, to, DAY)
    items = await history.decisions(machine_id, start=start, end=end, limit=limit)
    return DecisionList(machine_id=machine_id, items=items)


@router.get("/{machine_id}/correlations", response_model=CorrelationsRead, responses=problem_responses(404))
async def correlations(
    machine_id: MachineId, twins: TwinServiceDep, live: LiveAnalyticsDep
) -> CorrelationsRead:
    """Sensor correlation matrix over the machine's recent window (default 100 readings) and correlation
    breaks. Refreshed by the scoring engine at most every 10 s per machine."""
    await twins.ensure_exists(machine_id)
    return await live.correlations(machine_id)
