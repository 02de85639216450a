"""Process-level tuning of the backend: the cyclic garbage collector and glibc's malloc.

A consumer batch allocates hundreds of thousands of objects that live for the whole batch, so they survive
the young generations and every other batch set off a full collection, which walks every object the process
holds (the imported libraries, the fleet view, the scoring engine's state): 80-120 ms of pause at 50,000
readings per batch on our machines. After startup the objects alive then are frozen (`gc.freeze()`: never
scanned again; acyclic ones are still freed by reference counting) and the youngest generation is collected
every 100,000 allocations instead of 700. The threshold counts allocations minus deallocations, so it is
reached only when more objects are alive at once than a batch (with the change feed and the WebSocket
fan-out beside it) keeps in flight: at 10,000 a backend at 50,000 readings/s ran 2-3 gen-0 collections a
second of ~8 ms each (young batch containers referring to many objects), at 100,000 none in minutes.
Measured in docs/decisions.md (#21).

The scoring engine's batch allocates tens of megabytes of numpy temporaries (400 KB each at 50,000 readings)
and frees them at its end. glibc's malloc hands a free top of its heap back to the kernel once it exceeds a
threshold that it adapts to the blocks freed so far (a few MB here), and serves blocks above another such
threshold with fresh mappings, so every batch the kernel mapped and zero-filled the same memory again:
~2,800 page faults and a third of the engine's time per 5,000-machine batch on our machines. Fixed
thresholds keep up to `TRIM_THRESHOLD` of free heap for the next batch (docs/decisions.md, #22)."""

from __future__ import annotations

import ctypes
import gc
import platform
import sys

GEN0_THRESHOLD = 100_000
# mallopt(3) parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own ceiling for its adaptive one)
TRIM_THRESHOLD = 128 << 20  # free memory at the heap's top kept for reuse, up to this


def tune_gc() -> None:
    """Collect what is garbage now, freeze the survivors, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


def tune_malloc() -> bool:
    """Fix glibc malloc's trim and mmap thresholds (see the module's docstring); False where the C library
    is not glibc (nothing changed)."""
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_ok: bool = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    trim_ok: bool = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return mmap_ok and trim_ok
