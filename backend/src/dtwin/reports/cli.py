"""`dtwin report list|run`: report definitions and runs from the command line (the same runner the
backends use; the run is stored and, unless --no-email, emailed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from dtwin.config import get_settings
from dtwin.core.adapters import build_adapters
from dtwin.core.db import transaction
from dtwin.errors import DtwinError
from dtwin.kit.logging import configure_logging
from dtwin.lifecycle.wiring import lifecycle_service
from dtwin.reports.repository import ReportRepository
from dtwin.reports.schemas import ReportSpec
from dtwin.reports.service import ReportService, spec_of
from dtwin.reports.wiring import report_runner
from dtwin.twins.service import TwinService
from dtwin.twins.store import TwinStore

report_app = typer.Typer(
    help="Reports (maintenance, data quality, energy): PDF and CSV", no_args_is_help=True
)


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None or t.tzinfo else t.replace(tzinfo=UTC)


@report_app.command("list")
def report_list() -> None:
    """Report definitions and the newest runs."""
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)

    async def job() -> None:
        adapters = build_adapters(settings)
        try:
            async with transaction(adapters.sessions) as session:
                overview = await ReportService(session, settings.plant_tz).overview(20)
        finally:
            await adapters.close()
        for d in overview.definitions:
            typer.echo(
                f"definition {d.id:>4}  {d.kind:<12} {d.scope:<5} {d.period:<10} "
                f"{d.schedule or '-':<14} {d.name}"
            )
        for r in overview.runs:
            typer.echo(
                f"run {r.id:>6}  {r.status:<9} {r.kind:<12} "
                f"{r.period_start:%Y-%m-%d}..{r.period_end:%Y-%m-%d}"
            )

    asyncio.run(job())


@report_app.command("run")
def report_run(
    definition: Annotated[int | None, typer.Option(help="A stored definition's id")] = None,
    kind: Annotated[str | None, typer.Option(help="Ad hoc: maintenance, data_quality or energy")] = None,
    site: Annotated[str | None, typer.Option(help="Ad hoc: one site (default: the fleet)")] = None,
    period: Annotated[str, typer.Option(help="Ad hoc: last_day, last_week or last_month")] = "last_day",
    from_: Annotated[datetime | None, typer.Option("--from", help="Start (ISO 8601; UTC if no zone)")] = None,
    to: Annotated[datetime | None, typer.Option("--to", help="End (ISO 8601; UTC if no zone)")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="Ad hoc: a recipient (repeat)")] = None,
    send: Annotated[bool, typer.Option("--send/--no-email", help="Email the recipients")] = True,
    out: Annotated[Path | None, typer.Option(help="Also write the files into this directory")] = None,
) -> None:
    """Run a report now (a definition, or ad hoc with --kind), store the run, email it, print its id."""
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    if (definition is None) == (kind is None):
        raise typer.BadParameter("give either --definition or --kind")
    if (from_ is None) != (to is None):
        raise typer.BadParameter("give both --from and --to, or neither")

    async def job() -> int:
        adapters = build_adapters(settings)
        try:
            twins = TwinService(TwinStore(adapters.redis, adapters.keys, settings.ws_replay_entries))
            archive = lifecycle_service(settings, adapters.sessions)
            runner = report_runner(settings, adapters.sessions, adapters.redis, adapters.keys, twins, archive)
            definition_id = None
            if definition is not None:
                async with transaction(adapters.sessions) as session:
                    row = await ReportRepository(session).definition(definition)
                    if row is None:
                        raise typer.BadParameter(f"no report definition {definition}")
                    spec, definition_id = spec_of(row), row.id
            else:
                try:
                    spec = ReportSpec.model_validate(
                        {
                            "name": f"ad hoc {kind}",
                            "kind": kind,
                            "scope": "site" if site else "fleet",
                            "site": site,
                            "period": period,
                            "recipients": email or [],
                        }
                    )
                except ValidationError as exc:
                    raise typer.BadParameter(str(exc)) from None
            start, end = _aware(from_), _aware(to)
            if start is None or end is None:
                start, end = runner.period(spec, runner.clock())
            outcome = await runner.run(
                spec, start, end, trigger="cli", definition_id=definition_id, email=send
            )
            assert outcome is not None
            async with transaction(adapters.sessions) as session:
                svc = ReportService(session, settings.plant_tz)
                run = await svc.run(outcome.run_id)
                if out is not None:
                    out.mkdir(parents=True, exist_ok=True)
                    for fmt in run.formats:
                        _, data = await svc.file(run.id, fmt)
                        (out / f"report-{run.id}.{fmt}").write_bytes(data)
        except DtwinError as exc:
            raise typer.BadParameter(str(exc.detail)) from None
        finally:
            await adapters.close()
        typer.echo(
            f"run {run.id}: {run.status} ({run.kind}, {run.period_start.isoformat()} to "
            f"{run.period_end.isoformat()}, data: {run.has_data}); "
            f"emailed to {', '.join(run.emailed_to) or 'nobody'}"
            + (f"; email: {run.email_error}" if run.email_error else "")
            + (f"; error: {run.error}" if run.error else "")
        )
        return 0 if run.status == "succeeded" else 1

    code = asyncio.run(job())
    if code:
        raise typer.Exit(code)
