"""The labelled corpus of the detection-generality bench (issue #22): the series of `anomaly_series.py`, four
per structure class, each with its anomalies and their NAB windows, as files under backend/devkit/corpus
(`<class>/<series>.csv` and `<class>/<series>.labels.json`), and read back for the bench. Deterministic (one
seed); the committed files are exactly what `python -m dtwin_devkit.anomaly_corpus` writes (a test checks
it)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtwin.anomalies.nab import probation_rows
from dtwin.anomalies.scan import F64, I64
from dtwin_devkit.anomaly_series import CLASSES, ROWS, CorpusSeries, seasonal_daily

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
SEED = 22  # issue #22
SERIES_PER_CLASS = 4


def _rng(structure: str, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([SEED, list(CLASSES).index(structure), k]))


def generate() -> Iterator[CorpusSeries]:
    """Every series of the corpus, class by class."""
    for structure, build in CLASSES.items():
        for k in range(SERIES_PER_CLASS):
            yield build(_rng(structure, k), k, ROWS)


def long_series(rows: int) -> CorpusSeries:
    """One long series for throughput measurements (a daily-seasonal one with its anomalies, not stored)."""
    return seasonal_daily(np.random.default_rng(np.random.SeedSequence([SEED, 999])), 0, rows)


# ------------------------------------------------------------------------------------------- files
def csv_text(s: CorpusSeries) -> str:
    """`timestamp,value`: epoch seconds, the value with the series' decimals (empty = missing)."""
    fmt = f"{{:.{s.decimals}f}}"
    body = "".join(
        f"{t},{'' if math.isnan(v) else fmt.format(v)}\n"
        for t, v in zip(s.ts.tolist(), s.values.tolist(), strict=True)
    )
    return "timestamp,value\n" + body


def labels_text(s: CorpusSeries) -> str:
    """The labels: anomaly onsets (timestamp, row, kind) and NAB's windows (timestamps, inclusive); JSON with
    one item per line, so the diff of a regenerated corpus stays readable."""
    ts = s.ts.tolist()
    head = {
        "structure": s.structure,
        "series": s.name,
        "rows": len(ts),
        "probation_rows": probation_rows(len(ts)),
    }
    lists: dict[str, list[object]] = {
        "anomalies": [{"timestamp": ts[a.row], "row": a.row, "kind": a.kind} for a in s.anomalies],
        "windows": [[ts[lo], ts[hi]] for lo, hi in s.windows().tolist()],
    }
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
    for key, items in lists.items():
        body = ",\n".join(f"  {json.dumps(item)}" for item in items)
        lines.append(f" {json.dumps(key)}: [\n{body}\n ]" if items else f" {json.dumps(key)}: []")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def files() -> dict[str, str]:
    """The corpus as files: `<class>/<series>.csv` and `<class>/<series>.labels.json`."""
    out: dict[str, str] = {}
    for s in generate():
        out[f"{s.structure}/{s.name}.csv"] = csv_text(s)
        out[f"{s.structure}/{s.name}.labels.json"] = labels_text(s)
    return out


@dataclass(frozen=True)
class LabelledSeries:
    """A corpus series as read back from its files."""

    structure: str
    name: str
    csv: Path
    ts: F64
    values: F64
    anomaly_rows: I64
    kinds: tuple[str, ...]
    windows: I64  # row ranges, inclusive


def _read_csv(path: Path) -> tuple[F64, F64]:
    lines = path.read_bytes().decode().splitlines()[1:]
    cells = [line.split(",", 1) for line in lines]
    ts = np.array([float(c[0]) for c in cells])
    values = np.array([float(c[1]) if c[1] else math.nan for c in cells])
    return ts, values


def load(root: Path = CORPUS_DIR) -> list[LabelledSeries]:
    """Every series under `root` (sorted by class and name), with its labels mapped onto rows."""
    out: list[LabelledSeries] = []
    for labels in sorted(root.glob("*/*.labels.json")):
        doc = json.loads(labels.read_text())
        csv = labels.with_name(labels.name.removesuffix(".labels.json") + ".csv")
        ts, values = _read_csv(csv)
        row_of = {int(t): i for i, t in enumerate(ts.tolist())}
        rows = np.array([row_of[int(a["timestamp"])] for a in doc["anomalies"]], dtype=np.int64)
        windows = np.array([[row_of[lo], row_of[hi]] for lo, hi in doc["windows"]], dtype=np.int64)
        kinds = tuple(str(a["kind"]) for a in doc["anomalies"])
        out.append(
            LabelledSeries(
                doc["structure"], doc["series"], csv, ts, values, rows, kinds, windows.reshape(-1, 2)
            )
        )
    return out


def write(root: Path = CORPUS_DIR) -> int:
    """(Re)write the corpus under `root`; returns the number of files."""
    texts = files()
    for rel, text in texts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    return len(texts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=CORPUS_DIR, help="directory to write the corpus to")
    args = parser.parse_args(argv)
    n = write(args.out)
    sys.stderr.write(f"wrote {n} files under {args.out}\n")


if __name__ == "__main__":
    main()
