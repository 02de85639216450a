"""The labelled corpus of the detection-generality bench (backend/devkit/corpus): exactly what its generator
writes, and labelled as the bench and NAB expect."""

import numpy as np

from dtwin.anomalies.nab import anomaly_windows, probation_rows
from dtwin_devkit.anomaly_corpus import CORPUS_DIR, SERIES_PER_CLASS, files, load
from dtwin_devkit.anomaly_series import CLASSES, KINDS, ROWS


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    expected = files()
    present = {
        p.relative_to(CORPUS_DIR).as_posix()
        for p in CORPUS_DIR.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert present == set(expected), "regenerate: python -m dtwin_devkit.anomaly_corpus"
    for rel, text in expected.items():
        assert (CORPUS_DIR / rel).read_bytes() == text.encode(), (
            f"{rel} differs from what the generator writes"
        )


def test_the_corpus_stays_small() -> None:
    assert sum(p.stat().st_size for p in CORPUS_DIR.rglob("*") if p.is_file()) < 4 * 2**20


def test_every_class_has_its_series_and_every_kind_occurs() -> None:
    corpus = load()
    by_class: dict[str, int] = {}
    for s in corpus:
        by_class[s.structure] = by_class.get(s.structure, 0) + 1
    assert by_class == dict.fromkeys(CLASSES, SERIES_PER_CLASS)
    kinds = [k for s in corpus for k in s.kinds]
    assert {k: kinds.count(k) >= 4 for k in KINDS} == dict.fromkeys(KINDS, True)
    assert all(not s.kinds for s in corpus if s.structure == "noise_control")


def test_labels_are_nab_windows_clear_of_the_probationary_period_and_of_each_other() -> None:
    for s in load():
        n = s.ts.shape[0]
        assert n == ROWS and np.all(np.diff(s.ts) > 0), s.name
        assert np.array_equal(s.windows, anomaly_windows(n, s.anomaly_rows)), s.name
        assert s.windows.shape[0] == s.anomaly_rows.shape[0], f"{s.name}: a window was merged or dropped"
        if s.windows.shape[0]:
            assert s.windows[0, 0] >= probation_rows(n)
            assert np.all(s.windows[1:, 0] > s.windows[:-1, 1])
        for row, (lo, hi) in zip(s.anomaly_rows.tolist(), s.windows.tolist(), strict=True):
            assert lo < row < hi and np.isfinite(s.values[row]), s.name
