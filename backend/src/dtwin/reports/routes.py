"""Report endpoints: definitions (admin writes, viewers read), runs on demand (admin) and the stored runs'
PDF and CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from dtwin.auth.deps import CurrentIdentity, allow
from dtwin.auth.identity import Role
from dtwin.core.http import require_json
from dtwin.errors import problem_responses
from dtwin.reports.deps import ReportRunnerDep, ReportServiceDep
from dtwin.reports.schemas import (
    ReportDefinitionIn,
    ReportDefinitionRead,
    ReportList,
    ReportRunRead,
    ReportSpec,
    RunRequest,
)

router = APIRouter(prefix="/reports", tags=["reports"])

DefinitionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MEDIA = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@router.get("", response_model=ReportList, dependencies=[allow(Role.viewer)])
async def list_reports(
    service: ReportServiceDep,
    runs: Annotated[int, Query(ge=0, le=500, description="How many of the newest runs")] = 50,
) -> ReportList:
    """Every report definition (with its next scheduled run) and the newest runs."""
    return await service.overview(runs)


@router.post(
    "/definitions",
    response_model=ReportDefinitionRead,
    status_code=201,
    responses=problem_responses(400, 409, 413, 415),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def create_definition(
    body: ReportDefinitionIn, service: ReportServiceDep, identity: CurrentIdentity, response: Response
) -> ReportDefinitionRead:
    """Define a report: kind, scope, period, cron schedule (plant time zone), recipients, formats."""
    created = await service.create(body, f"{identity.kind}:{identity.name}")
    response.headers["Location"] = f"/api/v1/reports/definitions/{created.id}"
    return created


@router.get(
    "/definitions/{definition_id}",
    response_model=ReportDefinitionRead,
    responses=problem_responses(404),
    dependencies=[allow(Role.viewer)],
)
async def get_definition(definition_id: DefinitionId, service: ReportServiceDep) -> ReportDefinitionRead:
    return await service.get(definition_id)


@router.put(
    "/definitions/{definition_id}",
    response_model=ReportDefinitionRead,
    responses=problem_responses(400, 404, 409, 413, 415),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def replace_definition(
    definition_id: DefinitionId,
    body: ReportDefinitionIn,
    service: ReportServiceDep,
    identity: CurrentIdentity,
) -> ReportDefinitionRead:
    return await service.replace(definition_id, body, f"{identity.kind}:{identity.name}")


@router.delete(
    "/definitions/{definition_id}",
    status_code=204,
    responses=problem_responses(404),
    dependencies=[allow(Role.admin)],
)
async def delete_definition(definition_id: DefinitionId, service: ReportServiceDep) -> Response:
    """Delete a definition; its runs stay (without their definition)."""
    await service.delete(definition_id)
    return Response(status_code=204)


@router.post(
    "/run",
    response_model=ReportRunRead,
    status_code=201,
    responses=problem_responses(400, 404, 413, 415),
    dependencies=[allow(Role.admin), Depends(require_json)],
)
async def run_report(
    body: RunRequest, service: ReportServiceDep, runner: ReportRunnerDep, response: Response
) -> ReportRunRead:
    """Run a report now and wait for it: a stored definition or an ad-hoc spec, over its period before now
    or over [start, end). Emails the recipients unless `email` is false. A run that failed is returned
    with status `failed` and its `error`; a period without data gives a report saying so."""
    definition_id: int | None = None
    if body.definition_id is not None:
        spec, row = await service.spec(body.definition_id)
        definition_id = row.id
    else:
        assert body.spec is not None
        spec = ReportSpec.model_validate(body.spec.model_dump())
    if body.start is not None and body.end is not None:
        start, end = body.start, body.end
    else:
        start, end = runner.period(spec, runner.clock())
    outcome = await runner.run(spec, start, end, trigger="api", definition_id=definition_id, email=body.email)
    assert outcome is not None
    response.headers["Location"] = f"/api/v1/reports/runs/{outcome.run_id}"
    return await service.run(outcome.run_id)


async def _file(service: ReportServiceDep, run_id: int, fmt: str) -> Response:
    run, data = await service.file(run_id, fmt)
    stem = f"report-{run.id}-{run.kind}-{_day(run.period_start)}"
    return Response(
        data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def _day(t: datetime) -> str:
    return t.strftime("%Y%m%d")


@router.get(
    "/runs/{run_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(404)},
    dependencies=[allow(Role.viewer)],
)
async def run_pdf(run_id: RunId, service: ReportServiceDep) -> Response:
    """The run's PDF."""
    return await _file(service, run_id, "pdf")


@router.get(
    "/runs/{run_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(404)},
    dependencies=[allow(Role.viewer)],
)
async def run_csv(run_id: RunId, service: ReportServiceDep) -> Response:
    """The run's CSV: the summary and each table as sections of one file."""
    return await _file(service, run_id, "csv")


@router.get(
    "/runs/{run_id}",
    response_model=ReportRunRead,
    responses=problem_responses(404),
    dependencies=[allow(Role.viewer)],
)
async def get_run(run_id: RunId, service: ReportServiceDep) -> ReportRunRead:
    return await service.run(run_id)
