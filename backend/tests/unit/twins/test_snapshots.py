"""State snapshots (the compacted topic a backend rebuilds twins from after a Redis loss) are published at
most every `every_s` per twin, and the twins a backend meets together come due spread over the period."""

from typing import Any

from dtwin.kit.bus import Record
from dtwin.twins.durable import StateSnapshots


class Store:
    async def raw_many(self, ids: list[str]) -> list[dict[str, Any]]:
        return [{"id": m} for m in ids]


class Bus:
    def __init__(self) -> None:
        self.batches: list[list[bytes]] = []

    async def produce_many(self, topic: str, records: list[Record]) -> list[Any]:
        self.batches.append([key for key, _, _ in records])
        return []


async def test_snapshots_of_twins_met_together_are_spread_over_the_period() -> None:
    now = [0.0]
    bus = Bus()
    snapshots = StateSnapshots(bus, "state", Store(), every_s=10.0, clock=lambda: now[0])  # type: ignore[arg-type]
    ids = [f"pump-{i:04d}" for i in range(1000)]
    per_second: list[int] = []
    for second in range(31):
        now[0] = float(second)
        bus.batches.clear()
        await snapshots.after_batch(ids)
        per_second.append(sum(len(b) for b in bus.batches))
    assert per_second[0] == 1000  # the first batch snapshots every twin
    # then each twin once per 10 s, about 100 a second; unspread, all 1,000 every 10th second and none between
    assert sum(per_second[1:11]) == 1000 and sum(per_second[11:21]) == 1000
    assert max(per_second[1:]) < 200, per_second
