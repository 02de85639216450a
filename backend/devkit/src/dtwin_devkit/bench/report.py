"""What every benchmark does with its figures: describe the machine, print, append to the record."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from pathlib import Path


def machine_description() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}, loopback"


def publish(text: str, out: Path | None) -> None:
    """Print a Markdown section and append it to `out` (docs/benchmarks.md under `make bench`)."""
    print(text)
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.write_text("# Benchmarks\n\nFigures appended by `make bench`; newest last.\n\n")
    with out.open("a", encoding="utf-8") as f:
        f.write("\n" + text)
    print(f"appended to {out}", file=sys.stderr)
