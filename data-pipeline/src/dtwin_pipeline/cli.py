"""Mounts the pipeline's commands (`simulate`, `bridge`) on the `dtwin` command line."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from dtwin_pipeline.bridge.cli import bridge
    from dtwin_pipeline.simulator.cli import simulate

    app.command()(simulate)
    app.command()(bridge)
