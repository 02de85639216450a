"""Mounts the devkit's command (`dev`) on the `dtwin` command line (the `dtwin.cli` entry point)."""

from __future__ import annotations

from typing import Annotated

import typer


def dev(
    port: Annotated[int, typer.Option()] = 8000,
    machines: Annotated[int, typer.Option(help="Simulated machines")] = 50,
    rate: Annotated[float, typer.Option(help="Messages per machine per second")] = 1.0,
) -> None:
    """Real mode on this machine: backend, bridge and simulator as processes against local PostgreSQL,
    Redis and Mosquitto (default ports or DTWIN_* variables), plus a Tansu broker unless
    DTWIN_KAFKA_BOOTSTRAP is set."""
    from dtwin_devkit.dev import run_dev

    run_dev(port, machines, rate)


def register(app: typer.Typer) -> None:
    app.command()(dev)
