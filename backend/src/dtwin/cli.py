"""The `dtwin` command line: serve, demo, migrate, simulate, bridge."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Annotated

import typer

app = typer.Typer(
    help="dtwin: industrial digital-twin platform", no_args_is_help=True, pretty_exceptions_enable=False
)


def _serve(host: str | None, port: int | None) -> None:
    import uvicorn

    from dtwin.config import get_settings
    from dtwin.logging import configure_logging
    from dtwin.main import create_app

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        ws="websockets-sansio",
        lifespan="on",
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default DTWIN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default DTWIN_PORT, 8000)")] = None,
) -> None:
    """Run the backend: API, WebSocket, dashboard and the telemetry consumer."""
    _serve(host, port)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    machines: Annotated[int, typer.Option(help="Simulated machines")] = 50,
    rate: Annotated[float, typer.Option(help="Messages per machine per second")] = 1.0,
) -> None:
    """Everything in one process on embedded defaults (in-process bus, fakeredis, SQLite) with the simulator
    feeding it. Service URLs in the environment are ignored here."""
    for var in ("DTWIN_KAFKA_BOOTSTRAP", "DTWIN_REDIS_URL"):
        os.environ.pop(var, None)
    os.environ["DTWIN_SIMULATOR_MACHINES"] = str(machines)
    os.environ["DTWIN_SIMULATOR_RATE_HZ"] = str(rate)
    from dtwin.config import get_settings

    get_settings.cache_clear()
    _serve(host, port)


@app.command()
def dev(
    port: Annotated[int, typer.Option()] = 8000,
    machines: Annotated[int, typer.Option(help="Simulated machines")] = 50,
    rate: Annotated[float, typer.Option(help="Messages per machine per second")] = 1.0,
) -> None:
    """Real mode on this machine: backend, bridge and simulator as processes against local PostgreSQL,
    Redis and Mosquitto (default ports or DTWIN_* variables), plus a Tansu broker unless
    DTWIN_KAFKA_BOOTSTRAP is set."""
    from dtwin.devtools.dev import run_dev

    run_dev(port, machines, rate)


@app.command()
def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (Alembic) to DTWIN_DATABASE_URL."""
    from dtwin.config import get_settings
    from dtwin.core.migrate import upgrade_sync

    url = get_settings().database_url
    upgrade_sync(url, revision)
    typer.echo(f"database at {revision}: {url.split('@')[-1]}")


@app.command()
def simulate(
    machines: Annotated[int, typer.Option(help="Number of machines")] = 50,
    rate: Annotated[float, typer.Option(help="Messages per machine per second")] = 1.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    mqtt_url: Annotated[str | None, typer.Option(help="Default DTWIN_MQTT_URL")] = None,
    id_offset: Annotated[int, typer.Option(help="First machine number - 1 (to run several simulators)")] = 0,
    list_types: Annotated[bool, typer.Option("--list-types", help="Print machine types and exit")] = False,
) -> None:
    """Publish simulated machine telemetry to MQTT (plant/{site}/{line}/{machine_id}/telemetry, QoS 1)."""
    from dtwin.config import get_settings
    from dtwin.logging import configure_logging
    from dtwin_pipeline.simulator.machines import MACHINE_TYPES
    from dtwin_pipeline.simulator.runner import SimulatorConfig, run_mqtt_simulator

    if list_types:
        for t in MACHINE_TYPES.values():
            typer.echo(f"{t.name} ({t.prefix}-NNNN)")
            for s in t.sensors:
                typer.echo(f"    {s.name:<24} {s.unit:<6} normal {s.lo:g} .. {s.hi:g}")
        return
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    cfg = SimulatorConfig(
        machines=machines, rate_hz=rate, seed=seed, duration_s=duration, id_offset=id_offset
    )
    stats = asyncio.run(
        run_mqtt_simulator(cfg, mqtt_url or settings.mqtt_url, settings.mqtt_username, settings.mqtt_password)
    )
    typer.echo(f"published {stats.messages} messages in {stats.ticks} ticks")


@app.command()
def bridge(
    mqtt_url: Annotated[str | None, typer.Option(help="Default DTWIN_MQTT_URL")] = None,
    kafka_bootstrap: Annotated[str | None, typer.Option(help="Default DTWIN_KAFKA_BOOTSTRAP")] = None,
) -> None:
    """Move MQTT telemetry into Kafka (telemetry.raw), rejects into telemetry.dlq."""
    from dtwin.config import get_settings
    from dtwin.logging import configure_logging
    from dtwin_pipeline.bridge.service import Bridge, BridgeConfig

    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    bootstrap = kafka_bootstrap or settings.kafka_bootstrap
    if not bootstrap:
        raise typer.BadParameter(
            "set DTWIN_KAFKA_BOOTSTRAP or --kafka-bootstrap", param_hint="--kafka-bootstrap"
        )
    cfg = BridgeConfig(
        mqtt_url=mqtt_url or settings.mqtt_url,
        mqtt_username=settings.mqtt_username,
        mqtt_password=settings.mqtt_password,
        kafka_bootstrap=bootstrap,
        kafka_acks=settings.kafka_acks,
        kafka_idempotence=settings.kafka_idempotence,
        kafka_linger_ms=settings.kafka_linger_ms,
        topic_telemetry=settings.topic_telemetry,
        topic_dlq=settings.topic_dlq,
        partitions=settings.kafka_partitions,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Bridge(cfg).run())


if __name__ == "__main__":
    app()
