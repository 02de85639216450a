"""`python -m dtwin_devkit.bench.changes`: the per-change CPU cost of the backend's change-stream hot path, no
servers. Every backend process decodes every change-stream message, applies it to its fleet view and fans it
out to its WebSocket clients; the consumer turns each batch into twin updates. Measured here: decode + fleet
view + hub fan-out to three unfiltered clients (sharing one serialisation), one filtered and one rate-capped
client, over messages of 500 `reported` changes (8 readings each); and the consumer's `twin_updates` over
batches of 5,000 messages. Prints a Markdown section and appends it to `--out`; exits non-zero if it measured
nothing."""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from dtwin.contracts import changes
from dtwin.contracts.telemetry import Telemetry
from dtwin.ingest.consumer import twin_updates
from dtwin.realtime.hub import Hub, StreamFilter, Subscription
from dtwin.twins.view import FleetView
from dtwin_devkit.bench.report import machine_description, publish

CHANGES_PER_MESSAGE = 500
MESSAGES = 60
BATCH = 5_000


def message(seq: int) -> bytes:
    items = [
        {
            "kind": "reported",
            "id": f"pump-{i:04d}",
            "version": seq,
            "ts": "2026-12-04T10:00:00.123Z",
            "quality": "good",
            "last_seen": "2026-12-04T10:00:00.200Z",
            "readings": {f"s{j}": 12.345 + j + seq for j in range(8)},
        }
        for i in range(CHANGES_PER_MESSAGE)
    ]
    return orjson.dumps({"seq": seq, "type": "twins", "items": items})


def fan_out_us(rounds: int) -> list[float]:
    """µs per change for decode + view + hub, one figure per round of MESSAGES messages."""
    view = FleetView()
    view.load([], 0)
    hub = Hub(view, queue_size=1_000_000)
    clients = [hub.register() for _ in range(5)]
    for c in clients[:3]:
        c.subs["all"] = Subscription("all", "twins", StreamFilter(), None)
    clients[3].subs["f"] = Subscription(
        "f", "twins", StreamFilter(machine_ids=frozenset({"pump-0001"})), None
    )
    clients[4].subs["r"] = Subscription("r", "twins", StreamFilter(), max_rate_hz=0.5)
    out: list[float] = []
    seq = 0
    for _ in range(rounds):
        raws = [message(seq + k + 1) for k in range(MESSAGES)]
        seq += MESSAGES
        start = time.perf_counter()
        for raw in raws:
            msg = changes.decode(raw)
            hub.dispatch(msg)
            view.apply(msg)
        out.append((time.perf_counter() - start) / (MESSAGES * CHANGES_PER_MESSAGE) * 1e6)
        sent = sum(c.queue.qsize() for c in clients)
        if sent == 0:
            sys.exit("change bench: the hub sent nothing")
        for c in clients:
            while not c.queue.empty():
                c.queue.get_nowait()
    return out


def twin_updates_us(rounds: int) -> list[float]:
    t0 = datetime(2026, 12, 4, tzinfo=UTC)
    readings = {f"s{j}": float(j) for j in range(8)}
    batch: list[tuple[Telemetry, dict[str, str]]] = [
        (Telemetry(f"pump-{i % 1000:04d}", "pump", t0 + timedelta(seconds=i // 1000), readings), {})
        for i in range(BATCH)
    ]
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        updates = twin_updates(batch)
        out.append((time.perf_counter() - start) / BATCH * 1e6)
        if len(updates) != 1000:
            sys.exit(f"change bench: {len(updates)} twin updates, expected 1000")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    fan = fan_out_us(args.rounds)
    upd = twin_updates_us(args.rounds)
    figures = [statistics.median(fan), statistics.median(upd)]
    if not fan or not upd or any(math.isnan(f) or f <= 0 for f in figures):
        sys.exit("change bench measured nothing")
    text = "\n".join(
        [
            f"### Change-stream hot path, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {machine_description()}. `python -m dtwin_devkit.bench.changes`: no servers; "
            f"medians of {args.rounds} rounds.",
            "",
            "| stage | µs | per |",
            "| --- | ---: | --- |",
            f"| decode + fleet view + hub fan-out (3 unfiltered, 1 filtered, 1 rate-capped client) | "
            f"{figures[0]:.2f} | change ({MESSAGES} messages of {CHANGES_PER_MESSAGE}) |",
            f"| consumer `twin_updates` | {figures[1]:.2f} | message (batches of {BATCH:,}) |",
            "",
        ]
    )
    publish(text, args.out)


if __name__ == "__main__":
    main()
