"""AnalyticsBook: what the scoring stage writes and publishes per machine, decided on arrays. Its state is
keyed by machine id as a dict would be, through the engine's machine slots, across the engine's compactions,
forgets behind its back and its own drops."""

import numpy as np

from dtwin.anomalies.analytics_book import AnalyticsBook, BookStep, RulByMachine
from dtwin.anomalies.engine import ScoringEngine
from dtwin.kit.spread import first_done

SENSORS = ("s0", "s1")


class Fleet:
    """An engine's index and a book; `step` passes one batch of machines with their values."""

    def __init__(self) -> None:
        self.engine = ScoringEngine()
        self.book = AnalyticsBook(analytics_every_s=30.0, correlations_every_s=10.0)

    def step(
        self,
        machines: dict[str, tuple[float, float, int]],
        now: float,
        *,
        anomalous: set[str] = frozenset(),  # type: ignore[assignment]
        windows: dict[str, int] | None = None,
    ) -> BookStep:
        ids = list(machines)
        for machine_id in ids:
            self.engine.register(machine_id, "pump", SENSORS)
        idx = self.engine.index
        slots = np.array([idx.machine(machine_id) for machine_id in ids], dtype=np.int64)
        h, s, st = (np.array(col) for col in zip(*machines.values(), strict=True))
        return self.book.step(
            idx,
            self.engine.compactions,
            slots,
            ids,
            health=h.astype(np.float64),
            score=s.astype(np.float64),
            strategy=st.astype(np.int8),
            anomalous=np.array([m in anomalous for m in ids], dtype=np.bool_),
            windows=np.array([(windows or {}).get(m, 1) for m in ids], dtype=np.int64),
            now=now,
        )


def news(step: BookStep) -> list[int]:
    out: list[int] = step.news.tolist()
    return out


def test_news_only_outside_the_scores_noise() -> None:
    """News when health moves by 1 point, the strategy changes, or the score moves by 0.05 with either
    value at SCORE_NOISE or above; a score wandering below it is not news."""
    f = Fleet()
    sequence = [
        ((97.0, 0.02, -1), True),  # first: always
        ((97.2, 0.12, -1), False),  # noise moving by 0.10
        ((97.2, 0.19, -1), False),
        ((97.2, 0.25, -1), True),  # out of the noise
        ((97.2, 0.28, -1), False),  # by less than 0.05
        ((97.2, 0.15, -1), True),  # back into it
        ((96.3, 0.15, -1), False),
        ((96.2, 0.15, -1), True),  # health by 1 point
        ((96.2, 0.15, 1), True),  # the strategy
        ((96.2, 0.15, 1), False),
    ]
    for t, (values, expected) in enumerate(sequence):
        assert news(f.step({"m": values}, float(t))) == ([0] if expected else []), (t, values)


def test_first_writes_are_back_dated_by_the_machines_phase_then_periodic() -> None:
    f = Fleet()
    first = f.step({"a": (90.0, 0.1, 0), "b": (80.0, 0.1, 0)}, 100.0)
    assert first.due.tolist() == [0, 1] and first.reports.tolist() == [0, 1]
    row = f.book._row["b"]
    assert f.book.written_at[row] == first_done("b", 100.0, 30.0)
    assert f.book.corr_at[row] == first_done("b", 100.0, 10.0)
    done = f.book.written_at[row]
    quiet = {"a": (90.0, 0.1, 0), "b": (80.0, 0.1, 0)}
    before = f.step(quiet, float(np.nextafter(done + 30.0, -np.inf)))
    assert 1 not in before.due.tolist()
    assert 1 in f.step(quiet, done + 30.0).due.tolist()
    assert f.step(quiet, done + 30.0, anomalous={"b"}).due.tolist() == [1]  # anomalous: every batch


def test_reports_when_a_window_completes_at_most_every_period() -> None:
    f = Fleet()
    v = {"m": (90.0, 0.1, 0)}
    f.step(v, 0.0, windows={"m": 3})
    at = f.book.corr_at[f.book._row["m"]]
    assert f.step(v, at + 10.0, windows={"m": 3}).reports.tolist() == []  # same window
    assert f.step(v, at + 9.0, windows={"m": 4}).reports.tolist() == []  # too soon
    assert f.step(v, at + 10.0, windows={"m": 4}).reports.tolist() == [0]
    assert f.step(v, at + 25.0, windows={"m": 4}).reports.tolist() == []  # same window, however late
    assert f.step(v, at + 19.0, windows={"m": 0}).reports.tolist() == []  # no window yet: every period
    assert f.step(v, at + 20.0, windows={"m": 0}).reports.tolist() == [0]
    assert f.step(v, at + 30.0, windows={"m": 0}).reports.tolist() == [0]


def test_state_follows_the_machine_id_through_a_compaction() -> None:
    """After the engine forgets machines and compacts (the others' slots move down), each machine keeps its
    own state: nothing is news for the survivors, and a new machine taking a freed slot is new."""
    f = Fleet()
    values = {f"m{i}": (100.0 - 10 * i, 0.3 * (i % 3), i % 4) for i in range(8)}
    f.step(values, 0.0)
    gone = ["m0", "m1", "m2", "m5"]
    before = f.engine.compactions
    f.engine.forget(gone)
    f.book.drop(gone)
    assert f.engine.compactions == before + 1  # half the slots dead: compacted
    kept = {k: v for k, v in values.items() if k not in gone}
    assert f.engine.index.machine("m7") != 7  # renumbered
    step = f.step({**kept, "n0": (100.0, 0.0, 0)}, 1.0)
    assert news(step) == [len(kept)]  # only the new machine
    assert f.engine.index.machine("n0") == len(kept)  # on a slot another machine had before
    assert len(f.book) == len(kept) + 1 and f.book._size == len(values)  # a freed row taken again


def test_a_dropped_machine_is_new_again_but_one_forgotten_only_by_the_engine_is_not() -> None:
    """Without a compaction in between: the returning machines get new engine slots, found by id."""
    f = Fleet()
    v = {f"m{i}": (90.0 - i, 0.1, 0) for i in range(9)}
    f.step(v, 0.0)
    f.engine.forget(["m0", "m1"])  # 2 of 9 dead: no compaction
    f.book.drop(["m0"])
    assert f.engine.compactions == 0
    assert news(f.step(v, 1.0)) == [0]  # m0: new; m1: its state kept
    assert f.engine.index.machine("m1") == 10 and "m1" in f.book


def test_rul_by_machine_is_the_batch_as_a_dict() -> None:
    ids = ["x", "y", "z"]
    rul = np.array([3600.0, np.inf, 7.5])
    m = RulByMachine(ids, rul)
    assert list(m.items()) == [("x", 3600.0), ("y", np.inf), ("z", 7.5)]
    assert dict(m) == {"x": 3600.0, "y": np.inf, "z": 7.5} and m == dict(m.items())
    assert list(m) == ids and len(m) == 3 and m["z"] == 7.5 and "z" in m and "w" not in m
    assert bool(m) and not RulByMachine([], np.zeros(0))
