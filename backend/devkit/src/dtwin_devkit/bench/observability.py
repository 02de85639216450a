"""`python -m dtwin_devkit.bench.observability`: what metrics and tracing cost (issue #20 target: < 5% of
throughput), measured both ways on the two stages that carry every message:

1. **The consumer's batch** (`TelemetryConsumer.process_batch`: validate, COPY into PostgreSQL, twins in
   Redis, registry, event log) over batches of 5,000 machines x 10 sensors against throwaway PostgreSQL and
   Redis: "off" (no metrics, no tracing) and "on" (the app's `Metrics`, tracing at 1%: a `traceparent` on 1%
   of the messages as the bridge sets it, SQL and Redis instrumented as the backend does, spans batched to
   an OTLP/HTTP sink in another process), batches interleaved; each consumer has its own database engine
   and Redis client.
2. **A bridge process** (`dtwin bridge`, bench/bridge.py's run: a backlog queued in Mosquitto drained into
   Kafka, validation, produce with acks=all, MQTT acks after Kafka's) with tracing off and at 1% (spans to
   the same sink), runs interleaved; its metrics are always on.
3. **The whole pipeline** (bench/pipeline.py: load generator -> Mosquitto -> bridge -> Tansu -> backend ->
   PostgreSQL, Redis, a WebSocket client) at a fixed offered load on fresh servers, tracing off and at 1% on
   the bridge and the backend, runs interleaved: the platform's CPU-µs per stored reading (every process
   but the load generator, so: what the platform sustains per core) and the sustained rate.

Cost = median of the per-pair ratios (on / off) - 1 for the batch time, 1 - on/off for the bridge's
rate. Prints Markdown; appends to `--out`; exits non-zero when it measured nothing."""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from dtwin.config import Settings
from dtwin.core.db import create_engine, create_sessionmaker
from dtwin.core.metrics import Metrics
from dtwin.core.migrate import upgrade_sync
from dtwin.core.tracing import instrument_stores
from dtwin.kit.bus import BusMessage, MemoryBus
from dtwin.kit.tracing import KEEP, Tracing, inject, setup_tracing
from dtwin_devkit.bench import pipeline
from dtwin_devkit.bench.bridge import one_drain as bridge_drain
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.bench.scoring_share import SyntheticFleet, bench_consumer
from dtwin_devkit.servers import free_port, running

RATIO = 0.01
SINK = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@dataclass
class Results:
    off_ms: list[float] = field(default_factory=list)
    on_ms: list[float] = field(default_factory=list)
    off_cpu_ms: list[float] = field(default_factory=list)  # this process's CPU time for the batch
    on_cpu_ms: list[float] = field(default_factory=list)
    bridge_off: list[float] = field(default_factory=list)  # messages/s of a real bridge process
    bridge_on: list[float] = field(default_factory=list)
    bridge_cpu_off: list[float] = field(default_factory=list)  # the bridge's CPU-µs per message
    bridge_cpu_on: list[float] = field(default_factory=list)
    traced: int = 0
    readings: int = 0
    # the whole pipeline, one fresh stack per run: the platform's CPU-µs per stored reading, the sustained
    # rate and publish->browser p99 ms
    pipe_cpu_off: list[float] = field(default_factory=list)
    pipe_cpu_on: list[float] = field(default_factory=list)
    pipe_rate_off: list[float] = field(default_factory=list)
    pipe_rate_on: list[float] = field(default_factory=list)
    pipe_p99_off: list[float] = field(default_factory=list)
    pipe_p99_on: list[float] = field(default_factory=list)
    pipe_offered: float = 0.0


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _traced_messages(
    topic: str, payloads: list[bytes], offset: int, bridge: Tracing
) -> tuple[list[BusMessage], int]:
    """The batch as the bridge hands it on: a traceparent on ~1% of the messages."""
    out, traced = [], 0
    for i, p in enumerate(payloads):
        headers: dict[str, str] = {}
        if random.random() < RATIO:
            with bridge.tracer.start_as_current_span("bridge.forward", attributes={KEEP: True}) as span:
                inject(span, headers)
            traced += 1
        out.append(BusMessage(topic, 0, offset + i, None, p, headers))
    return out, traced


async def consumer_stage(
    db_url: str, redis_url: str, sink: str, out: Results, machines: int, pairs: int
) -> None:
    s = Settings()
    clients = [aioredis.from_url(redis_url), aioredis.from_url(redis_url)]
    engines = [create_engine(db_url), create_engine(db_url)]
    bus = MemoryBus()
    tracing = setup_tracing("dtwin-backend", endpoint=sink, ratio=RATIO)
    # the bridge's spans are made here only for their traceparent: exported nowhere, so that no export of
    # theirs lands in the consumer's timed batches (the bridge's own cost is measured below, in its process)
    bridge = setup_tracing("dtwin-bridge", endpoint=None, ratio=RATIO, exporter=_Discard())
    instrument_stores(tracing, engines[1], clients[1])
    off = bench_consumer(s, bus, create_sessionmaker(engines[0]), clients[0], "obs-off")
    on = bench_consumer(s, bus, create_sessionmaker(engines[1]), clients[1], "obs-on")
    on.metrics, on.tracing = Metrics(), tracing
    fleet_off, fleet_on = (
        SyntheticFleet(machines, 10, "off", seed=2),
        SyntheticFleet(machines, 10, "on", seed=2),
    )
    try:
        offset = 0
        for k in range(3 + pairs):  # 3 untimed pairs create the twins and warm connections and plans
            at = datetime.now(UTC)
            batch_off = [
                BusMessage(s.topic_telemetry, 0, offset + i, None, p, {})
                for i, p in enumerate(fleet_off.payloads(0, at))
            ]
            batch_on, traced = _traced_messages(s.topic_telemetry, fleet_on.payloads(0, at), offset, bridge)
            offset += 2 * machines
            for name in ("off", "on") if k % 2 == 0 else ("on", "off"):
                gc.collect()  # the previous batch's garbage is not this one's cost
                t, cpu0 = time.perf_counter(), time.process_time()
                result = await (on if name == "on" else off).process_batch(
                    batch_on if name == "on" else batch_off
                )
                dt, dc = 1000 * (time.perf_counter() - t), 1000 * (time.process_time() - cpu0)
                if k >= 3:
                    (out.on_ms if name == "on" else out.off_ms).append(dt)
                    (out.on_cpu_ms if name == "on" else out.off_cpu_ms).append(dc)
                    if name == "on":
                        out.traced += traced
                        out.readings = result.readings
            # the span exporter's thread sends between batches, as it would; its CPU time is counted in the
            # next batch's (process_time covers every thread of this process)
            await asyncio.sleep(0.2)
    finally:
        tracing.shutdown()
        bridge.shutdown()
        for c in clients:
            await c.aclose()
        for e in engines:
            await e.dispose()


async def bridge_process(
    servers: dict[str, object], sink: str, out: Results, messages: int, rounds: int
) -> None:
    """A real `dtwin bridge` draining a backlog from Mosquitto into Kafka, tracing off and at 1% (spans to the
    sink), runs interleaved (bench/bridge.py's run)."""
    traced = {"DTWIN_OTLP_ENDPOINT": sink, "DTWIN_TRACE_SAMPLE_RATIO": str(RATIO)}
    for k in range(rounds):
        for name in ("off", "on") if k % 2 == 0 else ("on", "off"):
            drain = await bridge_drain(
                servers, messages, 100 + 2 * k + (name == "on"), traced if name == "on" else None
            )
            (out.bridge_on if name == "on" else out.bridge_off).append(drain.rate)
            (out.bridge_cpu_on if name == "on" else out.bridge_cpu_off).append(drain.cpu_us)


async def pipeline_runs(sink: str, out: Results, rate: float, seconds: float, rounds: int) -> None:
    """The real pipeline at `rate` readings/s, tracing off and at 1% on every platform process, runs
    interleaved, each on fresh servers (the sink outlives them)."""
    traced = {"DTWIN_OTLP_ENDPOINT": sink, "DTWIN_TRACE_SAMPLE_RATIO": str(RATIO)}
    for k in range(rounds):
        for name in ("off", "on") if k % 2 == 0 else ("on", "off"):
            print(f"pipeline at {rate:,.0f}/s, tracing {name}", flush=True)
            [r] = await pipeline.bench([rate], seconds, 10.0, traced if name == "on" else None)
            per_core = r.predicted_ceiling(1, pipeline.GENERATOR)  # readings/s per core, the platform alone
            if per_core <= 0 or not r.samples:
                sys.exit(f"the pipeline run with tracing {name} measured nothing")
            on = name == "on"
            (out.pipe_cpu_on if on else out.pipe_cpu_off).append(1e6 / per_core)
            (out.pipe_rate_on if on else out.pipe_rate_off).append(r.sustained)
            (out.pipe_p99_on if on else out.pipe_p99_off).append(r.p99_ms)
            out.pipe_offered = r.offered


async def measure(args: argparse.Namespace) -> Results:
    out = Results()
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    try:
        with running("postgres", "redis", "mosquitto", "kafka") as servers:
            db_url, redis_url = servers["postgres"].url, servers["redis"].url
            await asyncio.to_thread(upgrade_sync, db_url)
            endpoint = f"http://127.0.0.1:{port}"
            await consumer_stage(db_url, redis_url, endpoint, out, args.machines, args.pairs)
            await bridge_process(servers, endpoint, out, args.bridge_messages, args.bridge_rounds)  # type: ignore[arg-type]
        await pipeline_runs(endpoint, out, args.pipeline_rate, args.pipeline_seconds, args.pipeline_rounds)
    finally:
        sink.terminate()
        sink.wait(10)
    return out


def verdict(cost: float) -> str:
    return "met" if cost < 0.05 else "NOT met"


def _spread(values: list[float]) -> str:
    q = statistics.quantiles(values, n=4) if len(values) >= 4 else [min(values), 0, max(values)]
    return f"{100 * q[0]:+.1f}% .. {100 * q[-1]:+.1f}%"


def markdown(x: Results, args: argparse.Namespace, took_s: float) -> str:
    med = statistics.median
    # the cost: the medians' ratio (headline) and the interleaved pairs' ratios (median and quartiles)
    consumer = med(x.on_ms) / med(x.off_ms) - 1
    consumer_pairs = [a / b - 1 for a, b in zip(x.on_ms, x.off_ms, strict=False)]
    cpu = med(x.on_cpu_ms) / med(x.off_cpu_ms) - 1
    cpu_pairs = [a / b - 1 for a, b in zip(x.on_cpu_ms, x.off_cpu_ms, strict=False)]
    bridge = 1 - med(x.bridge_on) / med(x.bridge_off)
    bridge_pairs = [1 - a / b for a, b in zip(x.bridge_on, x.bridge_off, strict=False)]
    bridge_cpu = med(x.bridge_cpu_on) / med(x.bridge_cpu_off) - 1
    # the two stages every message passes, together: CPU-µs per message (the consumer's batch CPU per
    # message plus the bridge's); the servers' CPU (PostgreSQL, Redis, Kafka, Mosquitto), which the
    # instrumentation does not touch, is left out, so this overstates the share of the whole pipeline
    both_off = 1000 * med(x.off_cpu_ms) / args.machines + med(x.bridge_cpu_off)
    both_on = 1000 * med(x.on_cpu_ms) / args.machines + med(x.bridge_cpu_on)
    both = both_on / both_off - 1
    bridge_cpu_pairs = [a / b - 1 for a, b in zip(x.bridge_cpu_on, x.bridge_cpu_off, strict=False)]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    return "\n".join(
        [
            f"### Metrics and tracing overhead (issue #20), {stamp}",
            "",
            f"Machine: {machine_description()}. `python -m dtwin_devkit.bench.observability` on throwaway "
            f"PostgreSQL 15, Redis, Mosquitto and Tansu, spans batched over OTLP/HTTP to a sink in another "
            f"process; took {took_s:.0f} s. Tracing samples {100 * RATIO:.0f}% of messages. Cost: the "
            "medians' ratio, and the interleaved pairs' ratios (median; quartiles). A batch's wall time "
            "includes PostgreSQL's and Redis's answers, whose noise here is larger than the cost; the "
            "consumer's CPU time is what the instrumentation itself adds.",
            "",
            "| stage | off | on (metrics + tracing) | cost (target < 5%) | pairs: median (quartiles) |",
            "| --- | ---: | ---: | ---: | --- |",
            f"| consumer batch, {args.machines:,} messages ({x.readings:,} readings), ms, "
            f"{len(x.on_ms)} pairs ({x.traced} traced messages in all) "
            f"| {med(x.off_ms):.0f} | {med(x.on_ms):.0f} | {100 * consumer:+.1f}% ({verdict(consumer)}) "
            f"| {100 * med(consumer_pairs):+.1f}% ({_spread(consumer_pairs)}) |",
            f"| the same batches, the consumer process's CPU time (all its threads: the span exporter's "
            f"too), ms | {med(x.off_cpu_ms):.0f} | {med(x.on_cpu_ms):.0f} "
            f"| {100 * cpu:+.1f}% ({verdict(cpu)}) "
            f"| {100 * med(cpu_pairs):+.1f}% ({_spread(cpu_pairs)}) |",
            f"| a `dtwin bridge` process draining {args.bridge_messages:,} queued messages from Mosquitto "
            f"into Kafka, messages/s, {len(x.bridge_on)} runs each | {med(x.bridge_off):,.0f} "
            f"| {med(x.bridge_on):,.0f} | {100 * bridge:+.1f}% ({verdict(bridge)}) "
            f"| {100 * med(bridge_pairs):+.1f}% ({_spread(bridge_pairs)}) |",
            f"| the same runs, the bridge process's CPU-µs per message over its drain "
            f"| {med(x.bridge_cpu_off):.1f} | {med(x.bridge_cpu_on):.1f} "
            f"| {100 * bridge_cpu:+.1f}% ({verdict(bridge_cpu)}) "
            f"| {100 * med(bridge_cpu_pairs):+.1f}% ({_spread(bridge_cpu_pairs)}) |",
            f"| **the pipeline's path: consumer + bridge CPU-µs per message** (the servers' CPU left out, "
            f"so the share is overstated) | {both_off:.1f} | {both_on:.1f} | **{100 * both:+.1f}%** "
            f"({verdict(both)}) | |",
            *pipeline_rows(x),
            "",
        ]
    )


def pipeline_rows(x: Results) -> list[str]:
    if not (x.pipe_cpu_on and x.pipe_cpu_off):
        return []
    med = statistics.median
    cpu = med(x.pipe_cpu_on) / med(x.pipe_cpu_off) - 1
    cpu_pairs = [a / b - 1 for a, b in zip(x.pipe_cpu_on, x.pipe_cpu_off, strict=False)]
    # throughput: what the platform sustains per core is the inverse of its CPU per reading
    ceiling = 1 - med(x.pipe_cpu_off) / med(x.pipe_cpu_on)
    rate = 1 - med(x.pipe_rate_on) / med(x.pipe_rate_off)
    runs = f"{len(x.pipe_cpu_on)} fresh stacks each"
    return [
        f"| **the whole pipeline** at {x.pipe_offered:,.0f} readings/s offered ({runs}): the platform's "
        f"CPU-µs per stored reading (every process but the load generator and the probe) "
        f"| {med(x.pipe_cpu_off):.1f} | {med(x.pipe_cpu_on):.1f} | **{100 * cpu:+.1f}%** "
        f"({verdict(cpu)}) "
        f"| {100 * med(cpu_pairs):+.1f}% ({_spread(cpu_pairs)}) |",
        f"| the same runs: throughput the platform sustains per core (1 / CPU per reading), loss "
        f"| {1e6 / med(x.pipe_cpu_off):,.0f}/s | {1e6 / med(x.pipe_cpu_on):,.0f}/s "
        f"| {100 * ceiling:+.1f}% ({verdict(ceiling)}) | |",
        f"| the same runs: sustained readings/s (rows in PostgreSQL), loss "
        f"| {med(x.pipe_rate_off):,.0f} | {med(x.pipe_rate_on):,.0f} "
        f"| {100 * rate:+.1f}% ({verdict(rate)}) | |",
        f"| the same runs: publish→browser p99 ms | {med(x.pipe_p99_off):,.0f} | {med(x.pipe_p99_on):,.0f} "
        "| | |",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="Markdown file to append the results to")
    parser.add_argument("--machines", type=int, default=5000)
    parser.add_argument("--pairs", type=int, default=20)
    # a drain must last seconds for a ±5% CPU difference to show; Mosquitto queues 100,000 at most
    parser.add_argument("--bridge-messages", type=int, default=90_000)
    parser.add_argument("--bridge-rounds", type=int, default=4)
    parser.add_argument("--pipeline-rate", type=float, default=15_000, help="offered readings/s")
    parser.add_argument("--pipeline-seconds", type=float, default=20.0)
    parser.add_argument("--pipeline-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    random.seed(5)
    started = time.perf_counter()
    x = asyncio.run(measure(args))
    if not (x.on_ms and x.off_ms and x.readings and x.traced and x.bridge_on and x.bridge_off):
        sys.exit("measured nothing: no timed batch, no traced message or no bridge round")
    if args.pipeline_rounds and not (x.pipe_cpu_on and x.pipe_cpu_off):
        sys.exit("measured nothing: no pipeline run")
    publish(markdown(x, args, time.perf_counter() - started), args.out)


if __name__ == "__main__":
    main()
