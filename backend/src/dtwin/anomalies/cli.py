"""`dtwin anomaly ...`: command-line tools of the scoring engine (mounted by `dtwin.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dtwin.anomalies.backtest import BacktestError, run_backtest

anomaly_app = typer.Typer(help="Anomaly scoring tools.", no_args_is_help=True)


@anomaly_app.callback()
def _group() -> None:
    """Anomaly scoring tools."""


def _parse_limits(specs: list[str]) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for spec in specs:
        try:
            sensor, rng = spec.split("=", 1)
            lo, hi = (float(v) for v in rng.split(":", 1))
        except ValueError:
            raise typer.BadParameter(f"{spec!r}: expected SENSOR=LO:HI", param_hint="--limit") from None
        if not hi > lo:
            raise typer.BadParameter(f"{spec!r}: HI must be greater than LO", param_hint="--limit")
        out[sensor.strip()] = (lo, hi)
    return out


@anomaly_app.command()
def backtest(
    input_csv: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT.csv",
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with header 'timestamp,value' (one series), 'timestamp,<sensor>,...' (one machine, "
            "a row per instant) or 'timestamp,sensor,value[,quality]' (the API's export.csv, a row per "
            "reading).",
        ),
    ],
    output_csv: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT.csv",
            dir_okay=False,
            help="Written as 'timestamp,anomaly_score', one row per instant.",
        ),
    ],
    machine_type: Annotated[
        str, typer.Option("--machine-type", help="Machine type the model and thresholds belong to.")
    ] = "backtest",
    limit: Annotated[
        list[str] | None,
        typer.Option("--limit", help="Operating range of a sensor, SENSOR=LO:HI (repeatable)."),
    ] = None,
    chunk_rows: Annotated[int, typer.Option(min=1, help="Rows per engine batch.")] = 8192,
    train: Annotated[bool, typer.Option(help="Fit the multivariate model when the policy asks.")] = True,
) -> None:
    """Run the streaming scoring engine over a CSV in time order and write one calibrated score in [0, 1] per
    instant (for several sensors, the machine's): 1 - the tail probability of the row against the series'
    own recent rows, so 0.99 is about one row in a hundred on normal data. A long file's readings of one
    instant are scored together; readings of quality "bad" are not scored."""
    limits = _parse_limits(limit or [])
    try:
        with input_csv.open(newline="") as src, output_csv.open("w", newline="") as dst:
            stats = run_backtest(
                src, dst, machine_type=machine_type, chunk_rows=chunk_rows, train=train, limits=limits or None
            )
    except BacktestError as exc:
        typer.echo(f"error: {input_csv}: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"scored {stats.rows:,} rows ({stats.scored_rows:,} with readings, {len(stats.sensors)} sensor(s)) "
        f"in {stats.seconds:.2f} s = {stats.rows_per_s:,.0f} rows/s; models fitted: {stats.models_fitted}",
        err=True,
    )
