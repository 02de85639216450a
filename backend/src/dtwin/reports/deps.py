"""Dependencies of the report routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dtwin.core.deps import SessionDep, SettingsDep
from dtwin.reports.service import ReportRunner, ReportService


def get_report_service(session: SessionDep, settings: SettingsDep) -> ReportService:
    return ReportService(session, settings.plant_tz)


def get_report_runner(request: Request) -> ReportRunner:
    """The process's runner (main.py puts it on app.state.report_runner)."""
    runner: ReportRunner = request.app.state.report_runner
    return runner


ReportServiceDep = Annotated[ReportService, Depends(get_report_service)]
ReportRunnerDep = Annotated[ReportRunner, Depends(get_report_runner)]
