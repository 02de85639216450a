"""What the scoring stage last told about each machine, and what it has to tell after a batch: when it last
wrote the machine's analytics and correlation report, and the health, score and strategy it last published on
the change stream. Rows of numpy arrays, so a batch's decisions are a few vectorised comparisons; Python
touches only the machines seen for the first time. Pure (no I/O)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dtwin.anomalies.index import SeriesIndex, grow_1d
from dtwin.anomalies.scan import F64, I8, I64, Bool
from dtwin.kit.spread import first_done

# an anomaly score below this is a machine's noise (evidence under ~0.7 of a detector's threshold): its moves
# are not news for the change stream (docs/api.md, `kind: analytics`)
SCORE_NOISE = 0.2


def quiet(
    last_health: F64, last_score: F64, last_strategy: I64, health: F64, score: F64, strategy: I64
) -> Bool:
    """Which machines have no news against what was last published: health moved by less than 1 point, the
    score by less than 0.05 or with both scores below `SCORE_NOISE` (below it, a machine's score wanders
    with its noise: that goes out with the next periodic write), and the same strategy."""
    larger = np.where(score > last_score, score, last_score)  # max(last, score), as Python's max picks
    out: Bool = (
        (np.abs(last_health - health) < 1.0)
        & ((np.abs(last_score - score) < 0.05) | (larger < SCORE_NOISE))
        & (last_strategy == strategy)
    )
    return out


@dataclass(frozen=True, slots=True)
class BookStep:
    """A batch's machines (positions in the batch, ascending) whose correlation report is rewritten
    (`reports`), whose change is news on the change stream (`news`) and whose analytics are rewritten
    (`due`: the news, the anomalous, and those whose stored detail is `analytics_every_s` old)."""

    reports: I64
    news: I64
    due: I64


class AnalyticsBook:
    """Per machine id, one row of state. The engine's machine slots of a batch find their rows through
    `_row_of_slot` (rebuilt when the engine compacts, which renumbers its slots; `compactions` tells); a slot
    not mapped yet is looked up by id, and an id seen for the first time gets a row (a freed one first). The
    state is the same as a dict by machine id: a machine is new until `drop` forgets it, whatever the
    engine did with its slot meanwhile.

    Invariant: a row is freed (`drop`) only for machines the engine no longer scores (detached), so no live
    slot maps to a freed row."""

    def __init__(self, analytics_every_s: float, correlations_every_s: float) -> None:
        self.analytics_every_s = analytics_every_s
        self.correlations_every_s = correlations_every_s
        self._row: dict[str, int] = {}
        self._free: list[int] = []
        self._row_of_slot: I64 = np.zeros(0, dtype=np.int64)
        self._compactions = 0
        self._size = 0  # rows handed out so far (free or not)
        self.corr_at: F64 = np.zeros(0)  # when its report was written
        self.corr_window: I64 = np.zeros(0, dtype=np.int64)  # at which completed correlation window
        self.written_at: F64 = np.zeros(0)  # when its analytics were written
        self.health: F64 = np.zeros(0)  # what was last published (kind: analytics)
        self.score: F64 = np.zeros(0)
        self.strategy: I64 = np.zeros(0, dtype=np.int64)

    def __contains__(self, machine_id: object) -> bool:
        return machine_id in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def drop(self, machine_ids: Sequence[str]) -> None:
        """Forget machines (removed, evicted): their next batch finds them new."""
        for machine_id in machine_ids:
            row = self._row.pop(machine_id, None)
            if row is not None:
                self._free.append(row)

    def _alloc(self, machine_id: str) -> int:
        if self._free:
            row = self._free.pop()
        else:
            row = self._size
            self._size += 1
            if row >= self.corr_at.shape[0]:
                cap = max(16, 2 * row)
                self.corr_at = grow_1d(self.corr_at, cap, 0.0)
                self.corr_window = grow_1d(self.corr_window, cap, 0)
                self.written_at = grow_1d(self.written_at, cap, 0.0)
                self.health = grow_1d(self.health, cap, 0.0)
                self.score = grow_1d(self.score, cap, 0.0)
                self.strategy = grow_1d(self.strategy, cap, 0)
        self._row[machine_id] = row
        return row

    def rows(self, index: SeriesIndex, compactions: int, slots: I64, ids: Sequence[str]) -> tuple[I64, Bool]:
        """The rows of a batch's machines (`slots`: their engine machine slots, `ids`: their ids) and which
        are new (a row just allocated)."""
        if compactions != self._compactions:  # the engine renumbered its slots: map them again, by id
            self._row_of_slot = np.full(index.n_machines, -1, dtype=np.int64)
            for machine_id, row in self._row.items():
                m = index.machine(machine_id)
                if m is not None:
                    self._row_of_slot[m] = row
            self._compactions = compactions
        self._row_of_slot = grow_1d(self._row_of_slot, index.n_machines, -1)
        rows = self._row_of_slot[slots]
        new = np.zeros(rows.shape[0], dtype=np.bool_)
        for i in np.flatnonzero(rows < 0).tolist():
            machine_id = ids[i]
            known = self._row.get(machine_id)
            if known is None:
                known = self._alloc(machine_id)
                new[i] = True
            rows[i] = self._row_of_slot[slots[i]] = known
        return rows, new

    def step(
        self,
        index: SeriesIndex,
        compactions: int,
        slots: I64,
        ids: Sequence[str],
        *,
        health: F64,
        score: F64,
        strategy: I8 | I64,
        anomalous: Bool,
        windows: I64,
        now: float,
    ) -> BookStep:
        """Decide what a batch's machines need written and published, and record it as done at `now`. A
        report changes when the machine completes a correlation window (before its first, with every
        vector): rewritten then, at most every `correlations_every_s`. A machine's first write counts as done
        back-dated by its phase (`kit.spread.first_done`), so machines first seen together come due spread
        over the period."""
        rows, new = self.rows(index, compactions, slots, ids)
        strat = strategy.astype(np.int64, copy=False)
        reports = new | (
            ((windows != self.corr_window[rows]) | (windows == 0))
            & (now - self.corr_at[rows] >= self.correlations_every_s)
        )
        news = new | ~quiet(self.health[rows], self.score[rows], self.strategy[rows], health, score, strat)
        due = news | anomalous | ~(now - self.written_at[rows] < self.analytics_every_s)

        r = rows[reports]
        self.corr_at[r], self.corr_window[r] = now, windows[reports]
        r = rows[news]
        self.health[r], self.score[r], self.strategy[r] = health[news], score[news], strat[news]
        self.written_at[rows[due]] = now
        for i in np.flatnonzero(new).tolist():  # first time: back-dated by the id's phase
            row, machine_id = int(rows[i]), ids[i]
            self.corr_at[row] = first_done(machine_id, now, self.correlations_every_s)
            self.written_at[row] = first_done(machine_id, now, self.analytics_every_s)
        return BookStep(np.flatnonzero(reports), np.flatnonzero(news), np.flatnonzero(due))


class RulByMachine(Mapping[str, float]):
    """Remaining useful life (estimate, s) of a batch's machines by id, read from the batch's arrays:
    iterating the items walks them directly; a lookup by key builds the dict once."""

    def __init__(self, machine_ids: Sequence[str], rul_s: F64) -> None:
        self._ids = machine_ids  # unique (one entry per machine of the batch)
        self._rul = rul_s
        self._dict: dict[str, float] | None = None

    def __getitem__(self, machine_id: str) -> float:
        if self._dict is None:
            self._dict = dict(zip(self._ids, self._rul.tolist(), strict=True))
        return self._dict[machine_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def items(self) -> ItemsView[str, float]:
        return _RulItems(self)


class _RulItems(ItemsView[str, float]):
    _mapping: RulByMachine

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return zip(self._mapping._ids, self._mapping._rul.tolist(), strict=True)
