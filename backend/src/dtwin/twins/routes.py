"""Twin endpoints: the fleet and one machine's live state."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dtwin.api.deps import TwinServiceDep
from dtwin.errors import problem_responses
from dtwin.twins.schemas import TwinList, TwinRead

router = APIRouter(prefix="/twins", tags=["twins"])


@router.get("", response_model=TwinList)
async def list_twins(service: TwinServiceDep) -> TwinList:
    """Every known machine with its latest reported values (from the live state in Redis)."""
    return await service.list()


@router.get("/{machine_id}", response_model=TwinRead, responses=problem_responses(404))
async def get_twin(machine_id: str, service: TwinServiceDep, response: Response) -> TwinRead:
    """One machine's live twin. The `ETag` header is the twin's version, which increments on every change.
    404 (problem+json) if no telemetry has ever arrived for it."""
    twin = await service.get(machine_id)
    response.headers["ETag"] = f'"{twin.version}"'
    return twin
