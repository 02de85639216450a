"""Recording and replay in the long CSV format `timestamp,machine_id,machine_type,site,line,sensor,value`
(one reading per row; only timestamp, machine_id, sensor and value are required). Consecutive rows with the
same timestamp and machine form one message; file order is publish order, so recorded duplicates and
out-of-order messages replay as they were."""

from __future__ import annotations

import asyncio
import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import orjson

from dtwin.contracts.telemetry import iso_utc
from dtwin_pipeline.simulator.fleet import Machine, Outgoing
from dtwin_pipeline.simulator.sinks import SimStats, Sink, publish

COLUMNS = ("timestamp", "machine_id", "machine_type", "site", "line", "sensor", "value")
REQUIRED = ("timestamp", "machine_id", "sensor", "value")
DEFAULT_SITE, DEFAULT_LINE = "replay", "line-1"


class ReplayError(ValueError):
    pass


class CsvRecorder:
    """Appends every message it is given as CSV rows (long format, header first)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = self.path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow(COLUMNS)
        self.rows = 0

    def write(self, batch: Sequence[Outgoing]) -> None:
        rows = []
        for o in batch:
            body = orjson.loads(o.payload)
            m = o.machine
            for sensor, value in body["readings"].items():
                rows.append((body["ts"], m.id, m.type, m.site, m.line, sensor, repr(value)))
        self._writer.writerows(rows)
        self.rows += len(rows)

    def close(self) -> None:
        self._file.close()


class RecordingSink:
    """Records what goes through to another sink."""

    def __init__(self, inner: Sink, recorder: CsvRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    async def send(self, batch: Sequence[Outgoing]) -> None:
        await asyncio.to_thread(self.recorder.write, batch)
        await self.inner.send(batch)


@dataclass(frozen=True)
class ReplayMessage:
    ts: datetime
    outgoing: Outgoing


def _parse_ts(raw: str, where: str) -> datetime:
    try:
        ts = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ReplayError(f"{where}: timestamp {raw!r} is not ISO 8601") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def read_replay(path: str | Path) -> Iterator[ReplayMessage]:
    """Messages of a recording in file order. Naive timestamps are taken as UTC."""
    p = Path(path)
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise ReplayError(
                f"{p}: missing column(s) {', '.join(missing)}; expected header {','.join(COLUMNS)} "
                f"(machine_type, site and line are optional)"
            )
        key: tuple[str, str] | None = None
        current: dict[str, Any] = {}
        for n, row in enumerate(reader, start=2):
            where = f"{p}:{n}"
            sensor = (row["sensor"] or "").strip()
            try:
                value = float(row["value"])
            except (TypeError, ValueError):
                raise ReplayError(f"{where}: value {row['value']!r} is not a number") from None
            if not math.isfinite(value) or not sensor:
                raise ReplayError(f"{where}: need a sensor name and a finite value")
            k = (row["timestamp"], row["machine_id"])
            if k != key or sensor in current["readings"]:
                if current:
                    yield _message(current)
                key = k
                current = {
                    "ts": _parse_ts(row["timestamp"], where),
                    "machine": Machine(
                        row["machine_id"],
                        row.get("machine_type") or "unknown",
                        row.get("site") or DEFAULT_SITE,
                        row.get("line") or DEFAULT_LINE,
                    ),
                    "readings": {},
                }
            current["readings"][sensor] = value
        if current:
            yield _message(current)


def _message(m: dict[str, Any]) -> ReplayMessage:
    machine: Machine = m["machine"]
    body = {
        "schema": 1,
        "machine_id": machine.id,
        "machine_type": machine.type,
        "ts": iso_utc(m["ts"]),
        "site": machine.site,
        "line": machine.line,
        "readings": m["readings"],
        "quality": "good",
    }
    return ReplayMessage(m["ts"], Outgoing(machine, orjson.dumps(body), len(m["readings"])))


async def run_replay(
    path: str | Path, sink: Sink, speed: float = 1.0, stats: SimStats | None = None
) -> SimStats:
    """Publish a recording keeping its timing (divided by `speed`; speed <= 0: as fast as possible).
    A message is never sent before the ones above it in the file."""
    stats = stats or SimStats()
    loop = asyncio.get_running_loop()
    start = loop.time()
    first: datetime | None = None
    batch: list[Outgoing] = []
    for msg in read_replay(path):
        first = first or msg.ts
        due = 0.0 if speed <= 0 else (msg.ts - first).total_seconds() / speed
        if due > loop.time() - start + 0.005:
            await _flush(sink, batch, stats)
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        batch.append(msg.outgoing)
        if len(batch) >= 1000:
            await _flush(sink, batch, stats)
    await _flush(sink, batch, stats)
    return stats


async def _flush(sink: Sink, batch: list[Outgoing], stats: SimStats) -> None:
    if batch:
        await publish(sink, list(batch), stats)
        batch.clear()
