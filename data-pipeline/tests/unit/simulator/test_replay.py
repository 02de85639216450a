"""Recording and replay: a recording reproduces the messages (timestamps, values, order, duplicates) and
a bad file is refused with the line that is wrong."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from dtwin.contracts.telemetry import Telemetry, parse_telemetry
from dtwin_pipeline.simulator.faults import FaultSpec
from dtwin_pipeline.simulator.fleet import Fleet, Outgoing, SimulatorConfig
from dtwin_pipeline.simulator.replay import CsvRecorder, ReplayError, read_replay, run_replay
from tests.unit.simulator.support import T0


class ListSink:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, batch: Sequence[Outgoing]) -> None:
        self.sent.extend(batch)


def _record(path: Path, cfg: SimulatorConfig, n: int) -> list[dict]:
    fleet = Fleet(cfg)
    rec = CsvRecorder(path)
    sent = []
    for i in range(n):
        batch = fleet.tick(T0 + timedelta(seconds=i), 1.0)
        rec.write(batch)
        sent.extend(orjson.loads(o.payload) for o in batch)
    rec.close()
    return sent


def test_replay_reproduces_recorded_timestamps_values_and_order(tmp_path: Path) -> None:
    cfg = SimulatorConfig(
        machines=8, faults=[FaultSpec(kind="duplicate", machine="cnc-0004", start_s=1, end_s=3)]
    )
    sent = _record(tmp_path / "rec.csv", cfg, 5)
    replayed = [orjson.loads(m.outgoing.payload) for m in read_replay(tmp_path / "rec.csv")]
    assert len(replayed) == len(sent) == 8 * 5 + 2
    for a, b in zip(sent, replayed, strict=True):
        assert (a["ts"], a["machine_id"], a["machine_type"], a["site"], a["line"], a["readings"]) == (
            b["ts"], b["machine_id"], b["machine_type"], b["site"], b["line"], b["readings"],
        )  # fmt: skip
        assert isinstance(parse_telemetry(orjson.dumps(b)), Telemetry)


def test_minimal_columns_and_naive_timestamps(tmp_path: Path) -> None:
    p = tmp_path / "min.csv"
    p.write_text(
        "timestamp,machine_id,sensor,value\n"
        "2026-01-01T00:00:00,m1,temperature_c,20.5\n"
        "2026-01-01T00:00:00,m1,flow_m3_h,3\n"
        "2026-01-01T00:00:02Z,m1,temperature_c,21\n"
    )
    msgs = list(read_replay(p))
    assert [orjson.loads(m.outgoing.payload) for m in msgs] == [
        {"schema": 1, "machine_id": "m1", "machine_type": "unknown", "ts": "2026-01-01T00:00:00.000Z",
         "site": "replay", "line": "line-1", "readings": {"temperature_c": 20.5, "flow_m3_h": 3.0},
         "quality": "good"},
        {"schema": 1, "machine_id": "m1", "machine_type": "unknown", "ts": "2026-01-01T00:00:02.000Z",
         "site": "replay", "line": "line-1", "readings": {"temperature_c": 21.0}, "quality": "good"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,machine_id,sensor,value\n", "missing column(s) timestamp"),
        (
            "timestamp,machine_id,sensor,value\n2026-01-01T00:00:00Z,m1,a,abc\n",
            ":2: value 'abc' is not a number",
        ),
        (
            "timestamp,machine_id,sensor,value\nyesterday,m1,a,1\n",
            ":2: timestamp 'yesterday' is not ISO 8601",
        ),
        ("timestamp,machine_id,sensor,value\n2026-01-01T00:00:00Z,m1,a,nan\n", "finite value"),
    ],
)
def test_bad_recording_is_refused_with_the_line(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(ReplayError, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(read_replay(p))


async def test_run_replay_sends_everything_in_file_order(tmp_path: Path) -> None:
    sent = _record(tmp_path / "rec.csv", SimulatorConfig(machines=4), 3)
    sink = ListSink()
    stats = await run_replay(tmp_path / "rec.csv", sink, speed=0)
    assert [orjson.loads(o.payload)["readings"] for o in sink.sent] == [m["readings"] for m in sent]
    assert stats.messages == 12 and stats.readings == sum(len(m["readings"]) for m in sent)


async def test_run_replay_waits_between_timestamps(tmp_path: Path) -> None:
    """At speed 20, two seconds of recording take about 0.1 s; the second message is not sent with the first."""
    p = tmp_path / "two.csv"
    p.write_text(
        "timestamp,machine_id,sensor,value\n2026-01-01T00:00:00Z,m1,a,1\n2026-01-01T00:00:02Z,m1,a,2\n"
    )

    class Probe(ListSink):
        def __init__(self) -> None:
            super().__init__()
            self.batches: list[int] = []

        async def send(self, batch: Sequence[Outgoing]) -> None:
            self.batches.append(len(batch))
            await super().send(batch)

    sink = Probe()
    await asyncio.wait_for(run_replay(p, sink, speed=20), 5)
    assert sink.batches == [1, 1]
