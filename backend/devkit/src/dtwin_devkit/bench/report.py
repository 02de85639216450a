"""What every benchmark does with its figures: describe the machine, print, append to the record; and the
settings of a backend a benchmark builds in process over its throwaway servers."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

from dtwin.config import Settings


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


def bench_settings(database_url: str, redis_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """A backend over the bench's servers with a fixed JWT key, no migration at start (the bench migrates),
    no dashboard, and the lifecycle, scoring and rate limits off unless `overrides` turn them on."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "auto_migrate": False,
        "frontend_dist": None,
        "jwt_secret": "bench-only-jwt-secret-0123456789abcdef",
        "data_dir": data_dir,
        "lifecycle_enabled": False,
        "scoring_enabled": False,
        "rate_limit_enabled": False,
    }
    return Settings(**{**values, **overrides})
