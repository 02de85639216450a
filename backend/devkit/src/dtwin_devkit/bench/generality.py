"""`python -m dtwin_devkit.bench.generality`: how well anomaly detection generalises across kinds of series
(issue #22). Runs the platform's detector exactly as `dtwin anomaly backtest` does (a fresh engine per
series, no machine type, no limits) and the baselines of `dtwin.anomalies.baselines` over every series of
the labelled corpus (backend/devkit/corpus, `dtwin_devkit.anomaly_corpus`) and scores them with the NAB
score (`dtwin.anomalies.nab`: threshold per detector and profile optimised over the whole corpus) per
structure class and overall, in NAB's three application profiles; adds each detector's throughput on one
long series. Prints Markdown; appends to `--out`; exits non-zero when it measured nothing (no series, a
score that is not finite, an empty table)."""

from __future__ import annotations

import argparse
import io
import math
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dtwin.anomalies.backtest import BacktestStats, run_backtest
from dtwin.anomalies.baselines import BASELINES
from dtwin.anomalies.nab import (
    PROFILES,
    STANDARD,
    CostProfile,
    NabScore,
    NabSeries,
    optimise_threshold,
    probation_rows,
    score_at,
)
from dtwin.anomalies.scan import F64
from dtwin_devkit.anomaly_corpus import CORPUS_DIR, LabelledSeries, csv_text, load, long_series
from dtwin_devkit.anomaly_series import KINDS
from dtwin_devkit.bench.report import machine_description, publish

ENGINE = "engine"  # the platform's detector, through `run_backtest`
DETECTORS = (ENGINE, *BASELINES)
ALL = "all"
THROUGHPUT_ROWS = 200_000


class NothingMeasured(RuntimeError):
    """The bench has no figure to report (the message says why)."""


def engine_scores(csv: Path) -> tuple[F64, BacktestStats]:
    """The engine's score per row of a corpus CSV, exactly as `dtwin anomaly backtest INPUT OUTPUT` computes
    it (default machine type, chunking and training; no limits)."""
    out = io.StringIO()
    with csv.open(newline="") as src:
        stats = run_backtest(src, out)
    lines = out.getvalue().splitlines()[1:]
    return np.array([float(line.rsplit(",", 1)[1]) for line in lines]), stats


def detector_scores(s: LabelledSeries) -> dict[str, F64]:
    """Every detector's score per row of one series."""
    out = {ENGINE: engine_scores(s.csv)[0]}
    out.update({name: scorer(s.ts, s.values) for name, scorer in BASELINES.items()})
    for name, sc in out.items():
        if sc.shape != s.values.shape or not np.all(np.isfinite(sc)):
            raise NothingMeasured(
                f"{name} on {s.name}: {sc.shape[0]} scores for {s.values.shape[0]} rows or not finite"
            )
    return out


@dataclass
class Results:
    """NAB scores per profile, detector and structure class (`ALL`: the corpus), windows detected per anomaly
    kind at the standard profile's threshold, and throughput (rows/s)."""

    structures: list[str]
    nab: dict[str, dict[str, dict[str, NabScore]]] = field(default_factory=dict)  # profile -> det -> class
    kinds: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # det -> kind -> (hit, of)
    throughput: dict[str, float] = field(default_factory=dict)
    throughput_rows: int = 0
    series: int = 0
    rows: int = 0


def nab_scores(
    corpus: Sequence[LabelledSeries],
    scores: Mapping[str, Mapping[str, F64]],
    detector: str,
    profile: CostProfile,
) -> dict[str, NabScore]:
    """One detector in one profile: its threshold and the null detector's optimised over the whole corpus
    (NAB's way), then the score of every structure class and of the corpus at them."""
    parts = [NabSeries.of(scores[s.name][detector], s.windows) for s in corpus]
    corpus_all = NabSeries.concat(parts)
    threshold, _ = optimise_threshold(corpus_all, profile)
    null_threshold, _ = optimise_threshold(corpus_all.null(), profile)
    out: dict[str, NabScore] = {}
    for structure in dict.fromkeys(s.structure for s in corpus):
        group = NabSeries.concat([p for p, s in zip(parts, corpus, strict=True) if s.structure == structure])
        out[structure] = score_at(group, profile, threshold, null_threshold)
    out[ALL] = score_at(corpus_all, profile, threshold, null_threshold)
    return out


def kind_hits(
    corpus: Sequence[LabelledSeries], scores: Mapping[str, F64], threshold: float
) -> dict[str, tuple[int, int]]:
    """Per anomaly kind: windows with a detection (a scored row at or above `threshold`) and windows."""
    out = {k: (0, 0) for k in KINDS}
    for s in corpus:
        sc, first = scores[s.name], probation_rows(s.ts.shape[0])
        for lo, hi in s.windows.tolist():
            hit = bool(np.any(sc[max(lo, first) : hi + 1] >= threshold))
            for row, kind in zip(s.anomaly_rows.tolist(), s.kinds, strict=True):
                if lo <= row <= hi:
                    got, of = out[kind]
                    out[kind] = (got + hit, of + 1)
    return {k: v for k, v in out.items() if v[1]}


def throughput(rows: int) -> dict[str, float]:
    """Rows/s of each detector on one long series: the engine through `run_backtest` on a CSV file (parsing
    and writing included, as the CLI reports it), the baselines on arrays."""
    long = long_series(rows)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.csv"
        path.write_text(csv_text(long))
        out[ENGINE] = engine_scores(path)[1].rows_per_s
    ts, values = long.ts.astype(np.float64), long.values
    for name, scorer in BASELINES.items():
        started = time.perf_counter()
        scorer(ts, values)
        out[name] = rows / (time.perf_counter() - started)
    return out


def run(corpus: Sequence[LabelledSeries], throughput_rows: int) -> Results:
    """Score every series with every detector, then NAB-score them."""
    if not corpus:
        raise NothingMeasured("no corpus series")
    scores = {s.name: detector_scores(s) for s in corpus}
    res = Results(list(dict.fromkeys(s.structure for s in corpus)), series=len(corpus))
    res.rows = sum(s.ts.shape[0] for s in corpus)
    for profile in PROFILES:
        res.nab[profile.name] = {d: nab_scores(corpus, scores, d, profile) for d in DETECTORS}
    for d in DETECTORS:
        threshold = res.nab[STANDARD.name][d][ALL].threshold
        res.kinds[d] = kind_hits(corpus, {name: sc[d] for name, sc in scores.items()}, threshold)
    if throughput_rows > 0:
        res.throughput, res.throughput_rows = throughput(throughput_rows), throughput_rows
    return res


def _cell(score: NabScore) -> str:
    """A normalised score, or for a class without windows (the control) its raw cost and false positives."""
    if score.windows == 0:
        return f"{score.raw:+.2f} raw, {score.false_positives} FP"
    return f"{score.normalised:.1f}"


def _threshold(t: float) -> str:
    return "none" if math.isinf(t) else f"{t:.6g}"


def profile_table(res: Results, profile: str) -> list[str]:
    head = "| structure | windows | " + " | ".join(DETECTORS) + " |"
    lines = [head, "| --- | ---: | " + " | ".join("---:" for _ in DETECTORS) + " |"]
    table = res.nab[profile]
    for structure in [*res.structures, ALL]:
        cells = [_cell(table[d][structure]) for d in DETECTORS]
        name = f"**{structure}**" if structure == ALL else structure
        lines.append(f"| {name} | {table[DETECTORS[0]][structure].windows} | " + " | ".join(cells) + " |")
    return lines


def markdown(res: Results, took_s: float) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### Anomaly detection generality (issue #22), {now}",
        "",
        f"`python -m dtwin_devkit.bench.generality`: {res.series} labelled series ({res.rows:,} rows) of "
        f"{len(res.structures)} structure classes (backend/devkit/corpus), scored by the platform's engine "
        "exactly as `dtwin anomaly backtest` runs it (fresh engine per series, no machine type, no limits) "
        "and by three baselines (`dtwin.anomalies.baselines`). NAB score (Lavin & Ahmad 2015; "
        "`dtwin.anomalies.nab`): windows of 10% of a series' rows / anomalies centred on each, first 15% "
        "(at most 750 rows) unscored, threshold per detector and profile optimised over the whole corpus; "
        "0 = the null detector, 100 = every window flagged on its first row and nothing else. The noise-only "
        "control has no window: its cells give the raw score (the false positives' cost; 0 is best) and the "
        f"false-positive rows. Took {took_s:.0f} s on {machine_description()}.",
        "",
    ]
    for profile in PROFILES:
        lines += [
            f"NAB score, `{profile.name}` profile (tp {profile.tp}, fp {profile.fp}, fn {profile.fn}):",
            "",
        ]
        lines += [*profile_table(res, profile.name), ""]
    lines += [
        "Per detector: thresholds chosen (standard / low FP / low FN), at the standard one windows detected "
        f"and false-positive rows; throughput on one series of {res.throughput_rows:,} rows (the engine "
        "through `run_backtest` on a CSV, parsing and writing included; the baselines on arrays):",
        "",
        "| detector | thresholds | windows detected | FP rows | rows/s |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for d in DETECTORS:
        std = res.nab[STANDARD.name][d][ALL]
        thresholds = " / ".join(_threshold(res.nab[p.name][d][ALL].threshold) for p in PROFILES)
        rate = f"{res.throughput[d]:,.0f}" if d in res.throughput else "-"
        lines.append(
            f"| {d} | {thresholds} | {std.detected}/{std.windows} | {std.false_positives:,} | {rate} |"
        )
    lines += [
        "",
        "Windows detected per anomaly kind at the standard profile's threshold:",
        "",
        "| kind | windows | " + " | ".join(DETECTORS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in DETECTORS) + " |",
    ]
    for kind in KINDS:
        counts = [res.kinds[d].get(kind) for d in DETECTORS]
        if counts[0] is None:
            continue
        lines.append(
            f"| {kind} | {counts[0][1]} | " + " | ".join(f"{c[0]}" if c else "-" for c in counts) + " |"
        )
    return "\n".join([*lines, ""])


def check(res: Results) -> None:
    """Raise `NothingMeasured` unless every class with windows has a finite score for every detector."""
    if not res.structures or not res.nab:
        raise NothingMeasured("empty table")
    for profile, by_detector in res.nab.items():
        for d, by_class in by_detector.items():
            for structure, score in by_class.items():
                if not math.isfinite(score.raw) or (score.windows and not math.isfinite(score.normalised)):
                    raise NothingMeasured(f"{d} on {structure} ({profile}): score is not finite")
    if res.nab[STANDARD.name][ENGINE][ALL].windows == 0:
        raise NothingMeasured("the corpus has no anomaly window")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS_DIR, help="corpus directory (<class>/<series>.csv)"
    )
    parser.add_argument("--throughput-rows", type=int, default=THROUGHPUT_ROWS, help="0: skip throughput")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        res = run(load(args.corpus), args.throughput_rows)
        check(res)
    except NothingMeasured as exc:
        sys.exit(f"bench-generality measured nothing: {exc}")
    publish(markdown(res, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
