"""Twin endpoints: the fleet and one machine's live state."""

from __future__ import annotations

from fastapi import APIRouter

from dtwin.api.deps import TwinServiceDep
from dtwin.errors import problem_responses
from dtwin.twins.schemas import TwinList, TwinRead

router = APIRouter(prefix="/twins", tags=["twins"])


@router.get("", response_model=TwinList)
async def list_twins(service: TwinServiceDep) -> TwinList:
    """Every known machine with its latest reported values (from the live state in Redis)."""
    return await service.list()


@router.get("/{machine_id}", response_model=TwinRead, responses=problem_responses(404))
async def get_twin(machine_id: str, service: TwinServiceDep) -> TwinRead:
    """One machine's live twin. 404 (problem+json) if no telemetry has ever arrived for it."""
    return await service.get(machine_id)
