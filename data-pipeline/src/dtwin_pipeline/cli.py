"""Mounts the pipeline's commands (`simulate`, `bridge`, `devices`) on the `dtwin` command line: `register`
is the `dtwin.cli` entry point (data-pipeline/pyproject.toml) the backend's CLI calls without naming this
package."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from dtwin_pipeline.bridge.cli import bridge
    from dtwin_pipeline.devices.cli import app as devices
    from dtwin_pipeline.simulator.cli import simulate

    app.command()(simulate)
    app.command()(bridge)
    app.add_typer(devices, name="devices")
