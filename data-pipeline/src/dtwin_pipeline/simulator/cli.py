"""`dtwin simulate`: the device fleet simulator on the command line."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer


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
