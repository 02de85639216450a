"""The backend's garbage-collector and malloc tuning (dtwin.core.runtime)."""

import gc
import platform
import sys

from dtwin.core.runtime import GEN0_THRESHOLD, tune_gc, tune_malloc


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


def test_tune_malloc_applies_on_glibc_only() -> None:
    glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert tune_malloc() is glibc
    assert tune_malloc() is glibc  # idempotent
