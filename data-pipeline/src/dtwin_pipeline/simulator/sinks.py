"""Where a simulator's messages go (`Sink`: MQTT, the in-process bus, a recording) and what it counts on the
way (`SimStats`). The runner and the replay both use them; neither imports the other for them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dtwin_pipeline.simulator.fleet import Outgoing


class Sink(Protocol):
    async def send(self, batch: Sequence[Outgoing]) -> None: ...


@dataclass
class SimStats:
    ticks: int = 0
    messages: int = 0
    readings: int = 0
    commands: int = 0
    acks: int = 0
    faults: int = 0  # fault events so far
    active_faults: int = 0
    machines: int = 0
    lag_s: float = 0.0  # how far the simulated clock is behind the schedule
    run_s: float = 0.0  # first tick to last acknowledgement (MQTT) or last send
    started: float = field(default_factory=time.monotonic)
    first_tick: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if k not in ("started", "first_tick")}
