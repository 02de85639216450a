"""Where a simulator's messages go (`Sink`: MQTT, the in-process bus, a recording) and what it counts on the
way (`SimStats`). The runner and the replay both use them; neither imports the other for them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from dtwin.contracts.telemetry import iso_utc
from dtwin_pipeline.simulator.fleet import Outgoing


class Sink(Protocol):
    async def send(self, batch: Sequence[Outgoing]) -> None: ...


@dataclass
class SimStats:
    ticks: int = 0
    messages: int = 0
    readings: int = 0
    errors: int = 0  # messages the MQTT client refused or whose send failed (counted in `messages` too)
    commands: int = 0
    acks: int = 0
    faults: int = 0  # fault events so far
    active_faults: int = 0
    machines: int = 0
    lag_s: float = 0.0  # how far the simulated clock is behind the schedule
    late_ticks: int = 0  # ticks whose publishing ran past the next tick's due time
    late_s: float = 0.0  # by how much, summed over those ticks
    run_s: float = 0.0  # first tick to last acknowledgement (MQTT) or last send
    started: float = field(default_factory=time.monotonic)
    first_tick: float = 0.0

    def snapshot(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if k not in ("started", "first_tick")}


class Stamping:
    """Benchmarks: sets each message's `ts` to the moment its batch is handed to the inner sink, so that a
    receiver's (receive time - ts) is the pipeline's latency from the publish on, without the up to one
    period by which the runner spreads a tick's messages. The readings keep their tick's values."""

    TS = b'"ts":"'

    def __init__(self, inner: Sink) -> None:
        self.inner = inner

    async def send(self, batch: Sequence[Outgoing]) -> None:
        now = iso_utc(datetime.now(UTC)).encode()  # fixed width: YYYY-MM-DDTHH:MM:SS.mmmZ
        stamped = []
        for o in batch:
            key = o.payload.find(self.TS)
            end = o.payload.find(b'"', key + len(self.TS)) if key >= 0 else -1
            if end < 0:  # no ts to stamp
                stamped.append(o)
                continue
            stamped.append(replace(o, payload=o.payload[: key + len(self.TS)] + now + o.payload[end:]))
        await self.inner.send(stamped)


async def publish(sink: Sink, batch: Sequence[Outgoing], stats: SimStats) -> None:
    """Send `batch` and count it: one update per batch, never per message (the simulator's hot path). A send
    that raises counts its messages as errors before the error goes on."""
    try:
        await sink.send(batch)
    except Exception:
        stats.errors += len(batch)
        raise
    finally:
        stats.messages += len(batch)
    stats.readings += sum(o.readings for o in batch)
