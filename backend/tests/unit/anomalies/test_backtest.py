"""`dtwin anomaly backtest` on small CSVs of every form: wide (one series, one machine) and long (the API's
CSV export)."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from dtwin.anomalies.backtest import BacktestError, parse_timestamp, run_backtest
from dtwin.anomalies.cli import anomaly_app
from dtwin.anomalies.config import EngineConfig
from dtwin_devkit.testing import eventually
from tests.factories import telemetry as factories

from .helpers import T0

runner = CliRunner()


def iso(i: int) -> str:
    return (T0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")


def read_scores(path: Path) -> tuple[list[str], list[float]]:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["timestamp", "anomaly_score"]
    return [r[0] for r in rows[1:]], [float(r[1]) for r in rows[1:]]


def assert_only_the_anomaly_stands_out(scores: list[float], row: int) -> None:
    """The scores are calibrated tail probabilities (1 - p): the injected anomaly is the most unusual row
    (beyond one in 200: a few hundred rows of history cannot vouch for much rarer), while rows before it
    reach 0.99 about once in a hundred (bound: 3%)."""
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[row] > 0.995
    assert scores[row] == max(scores)
    assert sum(s >= 0.99 for s in scores[:row]) <= 0.03 * row


def test_single_series_csv(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(10.0, 0.5, 600)
    x[500] = 25.0
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("timestamp,value\n" + "".join(f"{iso(i)},{v:.4f}\n" for i, v in enumerate(x)))
    result = runner.invoke(anomaly_app, ["backtest", str(src), str(dst), "--chunk-rows", "128"])
    assert result.exit_code == 0, result.output
    stamps, scores = read_scores(dst)
    assert stamps == [iso(i) for i in range(600)]
    assert_only_the_anomaly_stands_out(scores, 500)


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
    assert_only_the_anomaly_stands_out(scores, 300)


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


def iso_ms(i: int) -> str:
    return (T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_the_apis_csv_export_backtests_like_the_same_readings_in_wide_form(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    n = 300
    rng = np.random.default_rng(3)
    current, load = rng.normal(12.0, 0.3, n).round(3), rng.normal(60.0, 1.0, n).round(3)
    current[250] = 30.0
    await factories.feed(
        app,
        "conv-bt01",
        n,
        t0=T0,
        readings=lambda i: {"current_a": float(current[i]), "load_pct": float(load[i])},
    )

    async def exported() -> bytes:
        r = await client.get("/api/v1/twins/conv-bt01/export.csv")
        return r.content if r.status_code == 200 and r.content.count(b"\n") == 1 + 2 * n else b""

    long_csv, wide_csv = tmp_path / "export.csv", tmp_path / "wide.csv"
    long_csv.write_bytes(await eventually(exported, what="readings exported"))
    wide_csv.write_text(  # the same readings written by hand, one row per instant
        "timestamp,current_a,load_pct\n"
        + "".join(f"{iso_ms(i)},{float(current[i])!r},{float(load[i])!r}\n" for i in range(n))
    )
    scores = {}
    for name, path in (("long", long_csv), ("wide", wide_csv)):
        dst = tmp_path / f"{name}-scores.csv"
        result = runner.invoke(anomaly_app, ["backtest", str(path), str(dst), "--chunk-rows", "64"])
        assert result.exit_code == 0, result.output
        scores[name] = read_scores(dst)
    stamps, long_scores = scores["long"]
    assert stamps == [iso_ms(i) for i in range(n)]  # one row per instant, not per reading
    np.testing.assert_allclose(long_scores, scores["wide"][1], rtol=1e-9, atol=1e-12)
    assert_only_the_anomaly_stands_out(long_scores, 250)


def test_long_rows_of_one_instant_are_scored_together_and_bad_quality_is_not_scored() -> None:
    long = "timestamp,sensor,value,quality\n" + "".join(
        f"{i},a,{i % 7}.0,good\n{i},b,{i % 5}.0,{'bad' if i == 3 else 'uncertain'}\n" for i in range(200)
    )
    wide = "timestamp,a,b\n" + "".join(
        f"{i},{i % 7}.0,{'' if i == 3 else f'{i % 5}.0'}\n" for i in range(200)
    )
    outs = []
    for text in (long, wide):
        dst = io.StringIO()
        stats = run_backtest(io.StringIO(text), dst, chunk_rows=50)
        assert stats.rows == 200 and stats.sensors == ("a", "b")
        outs.append(dst.getvalue())
    assert outs[0] == outs[1]


def test_long_rows_without_quality_and_sensors_appearing_late() -> None:
    text = "timestamp,sensor,value\n1,a,1.0\n2,a,1.1\n2,b,5.0\n3,b,5.1\n"
    dst = io.StringIO()
    stats = run_backtest(io.StringIO(text), dst)
    assert stats.rows == 3 and stats.sensors == ("a", "b")
    assert [line.split(",")[0] for line in dst.getvalue().splitlines()] == ["timestamp", "1", "2", "3"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("2026-11-23T00:00:00Z,a,1.0,good\n2026-11-23T00:00:01Z,a,abc,good\n", "line 3: a: not a number"),
        ("nope,a,1.0,good\n", "line 2: bad timestamp"),
        ("1,a,1.0,good\n1,a,2.0,good\n", "line 3: a second a reading"),
        ("1,a,1.0,good\n2,A b,1.0,good\n", "line 3: sensor: bad name"),
        ("1,a,1.0\n", "line 2: expected 4 cells, got 3"),
        ("1,a,1.0,fine\n", "line 2: quality"),
        ("1,a,1.0,good\n2,a," + "9" * 2000 + ",good\n", "line 3: longer than"),
        ('1,a,"1.0\n', "line 2:"),
        ("1,a,1,good\n1,b,1,good\n1,c,1,good\n", "line 4: more than 2 sensors"),
    ],
)
def test_bad_long_input_is_an_error_naming_the_line(body: str, message: str) -> None:
    with pytest.raises(BacktestError, match=message):
        run_backtest(
            io.StringIO("timestamp,sensor,value,quality\n" + body),
            io.StringIO(),
            config=EngineConfig(max_sensors_per_type=2),
        )


def test_bad_long_input_exits_2_from_the_cli(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("timestamp,sensor,value,quality\n2026-11-23T00:00:00.000Z,current_a,x,good\n")
    result = runner.invoke(anomaly_app, ["backtest", str(src), str(dst)])
    assert result.exit_code == 2
    assert "line 2: current_a: not a number" in result.output
