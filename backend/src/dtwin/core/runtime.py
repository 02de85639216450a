"""Process-level tuning of the backend: the cyclic garbage collector.

A consumer batch allocates hundreds of thousands of objects that live for the whole batch, so they survive
the young generations and every other batch set off a full collection, which walks every object the process
holds (the imported libraries, the fleet view, the scoring engine's state): 80-120 ms of pause at 50,000
readings per batch on our machines. After startup the objects alive then are frozen (`gc.freeze()`: never
scanned again; acyclic ones are still freed by reference counting) and the youngest generation is collected
every 10,000 allocations instead of 700. Measured in docs/decisions.md (#21)."""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000


def tune_gc() -> None:
    """Collect what is garbage now, freeze the survivors, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
