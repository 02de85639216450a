"""`dtwin anomaly backtest` on small CSVs of both forms."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from dtwin.anomalies.backtest import parse_timestamp, run_backtest
from dtwin.anomalies.cli import anomaly_app

from .helpers import T0

runner = CliRunner()


def iso(i: int) -> str:
    return (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")


def read_scores(path: Path) -> tuple[list[str], list[float]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "anomaly_score"]
    return [r[0] for r in rows[1:]], [float(r[1]) for r in rows[1:]]


def test_single_series_csv(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(10.0, 0.5, 600)
    x[500] = 25.0
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("timestamp,value\n" + "".join(f"{iso(i)},{v:.4f}\n" for i, v in enumerate(x)))
    result = runner.invoke(anomaly_app, ["backtest", str(src), str(dst), "--chunk-rows", "128"])
    assert result.exit_code == 0, result.output
    stamps, scores = read_scores(dst)
    assert stamps == [iso(i) for i in range(600)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[500] > 0.5
    assert sum(s >= 0.5 for s in scores[:500]) == 0


def test_multi_sensor_csv_scores_the_machine_per_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 400
    values = np.column_stack([rng.normal(60, 0.5, n), rng.normal(3, 0.05, n), rng.normal(6, 0.05, n)])
    values[300, 1] = 4.0
    lines = [f"{1_800_000_000 + i},{a:.3f},{b:.3f},{c:.3f}\n" for i, (a, b, c) in enumerate(values)]
    lines[350] = f"{1_800_000_350},60.0,,6.0\n"  # a missing cell
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("timestamp,temperature_c,vibration_mm_s,pressure_bar\n" + "".join(lines))
    result = runner.invoke(
        anomaly_app,
        ["backtest", str(src), str(dst), "--machine-type", "pump", "--limit", "temperature_c=0:120"],
    )
    assert result.exit_code == 0, result.output
    stamps, scores = read_scores(dst)
    assert len(scores) == n and stamps[0] == "1800000000"
    assert scores[300] > 0.5
    assert sum(s >= 0.5 for s in scores[:300]) == 0


def test_chunking_does_not_change_scores() -> None:
    x = np.random.default_rng(2).normal(0, 1, 700)
    text = "timestamp,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(x))
    outs = []
    for chunk in (50, 700):
        dst = io.StringIO()
        run_backtest(io.StringIO(text), dst, chunk_rows=chunk)
        outs.append(np.array([float(line.split(",")[1]) for line in dst.getvalue().splitlines()[1:]]))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-9, atol=1e-12)


def test_bad_cell_is_an_error_naming_the_line(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("timestamp,value\n1,1.0\n2,abc\n")
    result = runner.invoke(anomaly_app, ["backtest", str(src), str(dst)])
    assert result.exit_code == 2
    assert "line 3" in result.output


def test_bad_header_is_an_error(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("time,value\n1,1.0\n")
    result = runner.invoke(anomaly_app, ["backtest", str(src), str(dst)])
    assert result.exit_code == 2
    assert "header" in result.output


def test_timestamp_forms() -> None:
    assert parse_timestamp("2026-11-23T00:00:00Z") == T0.timestamp()
    assert parse_timestamp("2026-11-23T01:00:00+01:00") == T0.timestamp()
    assert parse_timestamp("2026-11-23 00:00:00") == T0.timestamp()  # no offset: UTC
    assert parse_timestamp("1795392000.5") == 1795392000.5
