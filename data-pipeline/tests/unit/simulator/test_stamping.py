"""`dtwin simulate --stamp-at-send` (benchmarks): each message's ts becomes the moment its batch is handed
to MQTT; everything else in the payload stays as the tick made it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson

from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_pipeline.simulator.fleet import Fleet, Outgoing, SimulatorConfig
from dtwin_pipeline.simulator.sinks import Stamping


class Collect:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, batch: Sequence[Outgoing]) -> None:
        self.sent.extend(batch)


async def test_stamping_sets_ts_to_the_send_time_and_keeps_the_rest() -> None:
    tick = datetime.now(UTC) - timedelta(minutes=5)
    batch = Fleet(SimulatorConfig(machines=20)).tick(tick, 1.0)
    inner = Collect()
    before = datetime.now(UTC)
    await Stamping(inner).send(batch)
    after = datetime.now(UTC)
    assert len(inner.sent) == len(batch)
    for original, stamped in zip(batch, inner.sent, strict=True):
        old, new = orjson.loads(original.payload), orjson.loads(stamped.payload)
        parsed = parse_telemetry(stamped.payload)
        assert isinstance(parsed, Telemetry), parsed
        assert before - timedelta(milliseconds=1) <= parsed.ts <= after
        assert {k: v for k, v in new.items() if k != "ts"} == {k: v for k, v in old.items() if k != "ts"}
        assert stamped.machine is original.machine and stamped.readings == original.readings


async def test_a_payload_without_ts_goes_out_unchanged() -> None:
    (machine, *_) = Fleet(SimulatorConfig(machines=1)).machines
    odd = Outgoing(machine, b'{"schema":1,"machine_id":"x"}', 0)
    inner = Collect()
    await Stamping(inner).send([odd])
    assert inner.sent == [odd]
