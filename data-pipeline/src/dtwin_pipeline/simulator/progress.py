"""Terminal progress for `dtwin simulate` (rich): machines, messages/s, readings/s, faults, commands. Shown
only on a TTY and without --quiet."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from dtwin_pipeline.simulator.sinks import SimStats


def progress_wanted(quiet: bool) -> bool:
    return not quiet and sys.stdout.isatty()


class ProgressView:
    def __init__(self, title: str, workers: int = 1, console: Console | None = None) -> None:
        self.title = title
        self.workers = workers
        self.console = console or Console()
        self._live = Live(console=self.console, refresh_per_second=4, transient=False)
        self._last: tuple[float, int, int] | None = None
        self._rates = (0.0, 0.0)

    def __enter__(self) -> ProgressView:
        self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._live.__exit__(exc_type, exc, tb)

    def update(self, stats: SimStats, final: bool = False) -> None:
        now = time.monotonic()
        if final:  # averages over the whole run
            run_s = stats.run_s or max(now - stats.started, 1e-9)
            self._rates = (stats.messages / run_s, stats.readings / run_s)
        elif self._last is not None and now - self._last[0] >= 0.5:
            dt = now - self._last[0]
            self._rates = ((stats.messages - self._last[1]) / dt, (stats.readings - self._last[2]) / dt)
            self._last = (now, stats.messages, stats.readings)
        elif self._last is None:
            self._last = (now, stats.messages, stats.readings)
        self._live.update(self.render(stats))

    def render(self, stats: SimStats) -> Table:
        table = Table(title=self.title, show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan")
        table.add_column(justify="right")
        rows = [
            ("machines", f"{stats.machines:,}" + (f" in {self.workers} workers" if self.workers > 1 else "")),
            ("messages/s", f"{self._rates[0]:,.0f}"),
            ("readings/s", f"{self._rates[1]:,.0f}"),
            ("messages", f"{stats.messages:,}"),
            ("readings", f"{stats.readings:,}"),
            ("active faults", f"{stats.active_faults:,} ({stats.faults:,} injected)"),
            ("commands / acks", f"{stats.commands:,} / {stats.acks:,}"),
            ("behind schedule", f"{stats.lag_s:.1f} s"),
            ("elapsed", f"{time.monotonic() - stats.started:.0f} s"),
        ]
        for k, v in rows:
            table.add_row(k, v)
        return table
