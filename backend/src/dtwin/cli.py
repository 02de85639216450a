"""The `dtwin` command line: serve, demo, migrate, openapi, twins, replay, anomaly; other installed packages
add theirs through the `dtwin.cli` entry points (the data pipeline: simulate, bridge; the devkit: dev)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from dtwin.config import Settings

app = typer.Typer(
    help="dtwin: industrial digital-twin platform", no_args_is_help=True, pretty_exceptions_enable=False
)


def server_options(host: str, port: int, ws_compression: bool) -> dict[str, Any]:
    """uvicorn's options for `dtwin serve` (and the tests' servers, dtwin_devkit.testing.serve_app);
    `ws_compression`: DTWIN_WS_COMPRESSION."""
    from dtwin.contracts.limits import MAX_WS_MESSAGE_BYTES

    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "ws": "websockets-sansio",
        "ws_max_size": MAX_WS_MESSAGE_BYTES,
        "ws_per_message_deflate": ws_compression,
        "lifespan": "on",
    }


def _serve(host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    from dtwin.config import get_settings
    from dtwin.kit.logging import configure_logging
    from dtwin.main import create_app

    settings = get_settings()
    if settings.embedded_simulator:
        _check_feed(settings)
    _check_auth(settings)
    configure_logging(json=settings.log_json, level=settings.log_level)
    options = server_options(host or settings.host, port or settings.port, settings.ws_compression)
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    if settings.redis_url is None or settings.database_url.startswith("sqlite"):
        typer.echo(
            "error: --workers needs Redis and PostgreSQL (DTWIN_REDIS_URL, DTWIN_DATABASE_URL): the embedded "
            "stores are per process",
            err=True,
        )
        raise typer.Exit(2)
    _fresh_metrics_dir(settings.data_dir)
    uvicorn.run("dtwin.main:worker_app", factory=True, workers=workers, **options)


def _fresh_metrics_dir(data_dir: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR for the workers' shared metrics files: an empty directory per start (files
    of an earlier run would be summed in). Set by the operator, it is emptied; else data_dir/metrics."""
    import shutil

    from dtwin.core.metrics import MULTIPROC_ENV

    path = Path(os.environ.get(MULTIPROC_ENV) or data_dir / "metrics")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def _check_feed(settings: Settings) -> None:
    """Plan the in-process simulator's feed before anything starts: a missing feeder (the data pipeline not
    installed) or a bad scenario file ends here with its own message (exit code 2), not in a traceback
    from the application's startup."""
    from dtwin.kit.feeders import FeederError, load_feeder

    try:
        load_feeder()(settings)
    except FeederError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _check_auth(settings: Settings) -> None:
    """A real mode without DTWIN_JWT_SECRET ends here with its message (exit code 2)."""
    from dtwin.auth.bootstrap import AuthConfigError, jwt_secret

    try:
        jwt_secret(settings)
    except AuthConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default DTWIN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default DTWIN_PORT, 8000)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (each serves HTTP and consumes its share of the partitions; metrics are "
            "summed over them). Needs Redis and PostgreSQL",
        ),
    ] = 1,
) -> None:
    """Run the backend: API, WebSocket, dashboard and the telemetry consumer."""
    _serve(host, port, workers)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    machines: Annotated[
        int | None, typer.Option(help="Simulated machines (default 50; not with --scenario)")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.001, help="Messages per machine per second (default 1, or the scenario's)"),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            envvar="DTWIN_SIMULATOR_SCENARIO",
            help="Scenario YAML for the simulator: fleet, sites and lines, scheduled and random faults "
            "(data-pipeline/scenarios/)",
        ),
    ] = None,
) -> None:
    """Everything in one process on embedded defaults (in-process bus, fakeredis, SQLite) with the simulator
    feeding it. Service URLs in the environment are ignored here."""
    if scenario is not None and machines is not None:
        typer.echo("error: --machines cannot be combined with --scenario (edit its fleet)", err=True)
        raise typer.Exit(2)
    for var in ("DTWIN_KAFKA_BOOTSTRAP", "DTWIN_REDIS_URL"):
        os.environ.pop(var, None)
    if scenario is not None:
        os.environ["DTWIN_SIMULATOR_SCENARIO"] = str(scenario.resolve())
        os.environ["DTWIN_SIMULATOR_MACHINES"] = "0"
    else:
        os.environ.pop("DTWIN_SIMULATOR_SCENARIO", None)
        os.environ["DTWIN_SIMULATOR_MACHINES"] = str(50 if machines is None else machines)
    if rate is not None:
        os.environ["DTWIN_SIMULATOR_RATE_HZ"] = str(rate)
    os.environ.setdefault("DTWIN_DEMO_SEED", "true")  # alarm rules, an email route and a tariff, once
    from dtwin.config import get_settings

    get_settings.cache_clear()
    _serve(host, port)


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (Alembic) to DTWIN_DATABASE_URL."""
    from dtwin.config import get_settings
    from dtwin.core.migrate import upgrade_sync

    url = get_settings().database_url
    upgrade_sync(url, revision)
    typer.echo(f"database at {revision}: {url.split('@')[-1]}")


@app.command()
def openapi(
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output")] = None,
) -> None:
    """Print (or write) the OpenAPI document, sorted and indented, without starting a server."""
    from dtwin.api.openapi_export import openapi_json, write_openapi

    if out is None:
        typer.echo(openapi_json(), nl=False)
    else:
        write_openapi(out)
        typer.echo(f"wrote {out}", err=True)


def _mount_anomaly_commands() -> None:
    from dtwin.anomalies.cli import anomaly_app

    app.add_typer(anomaly_app, name="anomaly")


_mount_anomaly_commands()


def _mount_users_commands() -> None:
    from dtwin.auth.cli import users_app

    app.add_typer(users_app, name="users")


_mount_users_commands()


def _mount_audit_commands() -> None:
    from dtwin.audit.cli import audit_app

    app.add_typer(audit_app, name="audit")


_mount_audit_commands()


def _mount_lifecycle_commands() -> None:
    from dtwin.lifecycle.cli import archive_app, rollups_app

    app.add_typer(archive_app, name="archive")
    app.add_typer(rollups_app, name="rollups")


_mount_lifecycle_commands()


def _mount_report_commands() -> None:
    from dtwin.reports.cli import report_app

    app.add_typer(report_app, name="report")


_mount_report_commands()

twins_app = typer.Typer(help="Twin state maintenance", no_args_is_help=True)

app.add_typer(twins_app, name="twins")


@twins_app.command("rebuild")
def twins_rebuild(
    lookback_days: Annotated[float, typer.Option(help="Newest readings this far back fill gaps")] = 7.0,
) -> None:
    """Restore all twin state into Redis from the compacted twin.state topic and PostgreSQL (registry and
    newest readings). Safe while backends run: nothing newer is overwritten."""
    from datetime import timedelta

    from dtwin.config import get_settings
    from dtwin.core.adapters import build_adapters
    from dtwin.kit.logging import configure_logging
    from dtwin.twins.rebuild import rebuild
    from dtwin.twins.store import TwinStore

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    if settings.redis_url is None:
        raise typer.BadParameter("set DTWIN_REDIS_URL: there is nothing to rebuild in an embedded fakeredis")

    async def run() -> None:
        adapters = build_adapters(settings)
        try:
            await adapters.bus.start()
            report = await rebuild(
                adapters.bus,
                TwinStore(adapters.redis, adapters.keys, settings.ws_replay_entries),
                adapters.sessions,
                topic=settings.topic_state,
                lookback=timedelta(days=lookback_days),
            )
        finally:
            await adapters.close()
        typer.echo(
            f"restored {report.restored} twins ({report.from_topic} from {settings.topic_state}, "
            f"{report.from_registry} from the registry); {report.from_readings} refreshed from readings; "
            f"{report.deleted} deleted twins skipped"
        )

    asyncio.run(run())


@app.command()
def replay(
    from_: Annotated[datetime, typer.Option("--from", help="Start (ISO 8601; UTC if no zone)")],
    to: Annotated[datetime, typer.Option("--to", help="End (ISO 8601; UTC if no zone)")],
    speed: Annotated[float, typer.Option(help="x times the original pace; 0 = as fast as possible")] = 0.0,
    machine: Annotated[str | None, typer.Option(help="Only this machine")] = None,
) -> None:
    """Re-feed stored readings into telemetry.raw (after a detector change, say). Stored rows are not
    duplicated and newer twin values are not overwritten."""
    from dtwin.config import get_settings
    from dtwin.core.db import create_engine, create_sessionmaker
    from dtwin.kit.bus import build_bus
    from dtwin.kit.logging import configure_logging
    from dtwin.readings.replay import replay as run_replay

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    if not settings.kafka_bootstrap:
        raise typer.BadParameter("set DTWIN_KAFKA_BOOTSTRAP: replay feeds the Kafka pipeline")
    start, end = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (from_, to))
    if start > end:
        raise typer.BadParameter("--from must not be after --to")

    async def run() -> None:
        bus = build_bus(settings, client_id="dtwin-replay")
        engine = create_engine(settings.database_url)
        await bus.start()
        try:
            stats = await run_replay(
                bus,
                create_sessionmaker(engine),
                topic=settings.topic_telemetry,
                start=start,
                end=end,
                speed=speed,
                machine_id=machine,
            )
        finally:
            await bus.stop()
            await engine.dispose()
        typer.echo(
            f"replayed {stats.messages} messages ({stats.readings} readings) into {settings.topic_telemetry}"
        )

    asyncio.run(run())


CLI_GROUP = "dtwin.cli"


def _mount_installed_commands() -> None:
    """Commands of other installed packages: each `dtwin.cli` entry point is a `register(app)` function
    (the data pipeline's `simulate` and `bridge`, the devkit's `dev`). The backend names none of them."""
    for ep in sorted(entry_points(group=CLI_GROUP), key=lambda ep: ep.name):
        ep.load()(app)


_mount_installed_commands()


if __name__ == "__main__":
    app()
