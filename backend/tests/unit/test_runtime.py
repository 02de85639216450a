"""The backend's garbage-collector tuning (dtwin.core.runtime)."""

import gc

from dtwin.core.runtime import GEN0_THRESHOLD, tune_gc


def test_tune_gc_freezes_what_is_alive_and_collects_the_young_generation_less_often() -> None:
    before = gc.get_threshold()
    alive = [[] for _ in range(100)]  # tracked objects alive at the freeze
    try:
        tune_gc()
        assert gc.get_freeze_count() >= len(alive)
        assert gc.get_threshold() == (GEN0_THRESHOLD, before[1], before[2])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
