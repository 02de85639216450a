"""`dtwin simulate` options that need no broker: --list-types and the refusal of a bad scenario."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from dtwin_pipeline.simulator.cli import simulate
from dtwin_pipeline.simulator.machines import MACHINE_TYPES

app = typer.Typer()
app.command()(simulate)


def test_list_types_prints_types_sensors_ranges_and_settings() -> None:
    result = CliRunner().invoke(app, ["--list-types"])
    assert result.exit_code == 0, result.output
    for t in MACHINE_TYPES.values():
        assert f"{t.name} ({t.prefix}-NNNN)" in result.output
        for st in t.settings:
            assert st.name in result.output
    assert "steam_pressure_setpoint_bar" in result.output and "6 .. 16" in result.output
    assert "vibration_mm_s                 mm/s   normal 0.5 .. 4.5" in result.output
    assert result.output.count("settings: mode (on | standby | off)") == len(MACHINE_TYPES)


def test_bad_scenario_exits_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfleet: {pumpp: 1}\n")
    result = CliRunner().invoke(app, ["--scenario", str(bad), "--quiet"])
    assert result.exit_code == 2
    assert "unknown machine type(s) ['pumpp']" in result.output
