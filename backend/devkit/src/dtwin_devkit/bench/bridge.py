"""`make bench` (bridge part): MQTT -> Kafka throughput of `dtwin bridge` processes, measured apart from
the simulator. A backlog of 8-sensor messages is queued in Mosquitto for the bridges' persistent sessions
while they are offline (with N bridges on one shared subscription, Mosquitto spreads it over their
sessions); then the bridges start and we time how long it takes until Kafka holds every message
(validation, produce with acks=all, MQTT acks after Kafka). 1 bridge, then N (`--bridges 1,2`): the
scale-out. Median of several runs, appended to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from dtwin_devkit.bench.cpu import tree_cpu
from dtwin_devkit.bench.report import machine_description, publish
from dtwin_devkit.servers import free_port, running, stop_processes

DTWIN = str(Path(sys.executable).parent / "dtwin")
SENSORS = {  # 8 sensors: the message size (the simulator's fleet averages 8.3)
    "temperature_c": 61.2,
    "vibration_mm_s": 2.1,
    "pressure_bar": 6.4,
    "flow_m3_h": 110.0,
    "current_a": 42.0,
    "speed_rpm": 2900.0,
    "power_kw": 18.5,
    "bearing_temp_c": 48.3,
}


async def consume_until(bootstrap: str, topic: str, n: int, timeout: float) -> tuple[float, float]:
    """Consume `topic` from the beginning until `n` records arrived; returns the monotonic times at which
    the first and the last arrived.
    (Records are counted, not end offsets: Tansu's ListOffsets does not give record counts.)"""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        parts: set[int] = set()
        while not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} never appeared")
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        first = 0.0
        while seen < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {seen} of {n} records on {topic} within {timeout} s")
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            seen += sum(len(r) for r in batch.values())
            if seen and not first:
                first = time.monotonic()
        return first, time.monotonic()
    finally:
        await consumer.stop()


async def wait_connected(port: int, want: float, timeout: float = 60, any_value: bool = False) -> None:
    """Until the bridge's metrics say it is connected to MQTT (`want` 1) or not (0); with `any_value`,
    until they are served at all."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                if any(
                    line.startswith("dtwin_bridge_mqtt_connected ")
                    and (any_value or float(line.split()[1]) == want)
                    for line in text.splitlines()
                ):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("bridge did not connect")


async def publish_backlog(mqtt_url: str, n: int, machines: int) -> None:
    from dtwin_pipeline.mqtt import MqttTarget

    ts = datetime.now(UTC).isoformat()
    async with MqttTarget.from_url(mqtt_url).client(max_inflight=1000, max_queued_outgoing=100_000) as c:
        for i in range(0, n, 1000):
            await asyncio.gather(
                *(
                    c.publish(
                        f"plant/s1/l1/m{k % machines}/telemetry",
                        orjson.dumps(
                            {"schema": 1, "machine_id": f"m{k % machines}", "ts": ts, "readings": SENSORS}
                        ),
                        qos=1,
                    )
                    for k in range(i, min(n, i + 1000))
                )
            )


@dataclass
class Drain:
    rate: float  # messages/s, from the bridges' start to the last record in Kafka
    drain_rate: float  # messages/s, from the first record in Kafka to the last
    cpu_us: float  # the bridge processes' CPU-µs per message, from their MQTT connect to the last record
    bridges: int = 1


async def one_drain(
    servers: dict[str, object], n: int, run: int, extra_env: dict[str, str] | None = None, bridges: int = 1
) -> Drain:
    """One drain of `n` queued messages by `bridges` fresh bridge processes (with `extra_env`) sharing one
    subscription."""
    mqtt, kafka = servers["mosquitto"].url, servers["kafka"].url  # type: ignore[attr-defined]
    ports = [free_port() for _ in range(bridges)]
    topic = f"bench.raw.{run}.{os.getpid()}"
    env = {
        **os.environ,
        "DTWIN_MQTT_URL": mqtt,
        "DTWIN_KAFKA_BOOTSTRAP": kafka,
        "DTWIN_TOPIC_TELEMETRY": topic,
        "DTWIN_BRIDGE_SHARED_GROUP": f"bench{run}",
        "DTWIN_LOG_LEVEL": "warning",
        "DTWIN_TOPIC_DESIRED": f"bench.desired.{run}",
        **(extra_env or {}),
    }

    def start() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(
                [DTWIN, "bridge", "--metrics-port", str(port)],
                env={**env, "DTWIN_BRIDGE_CLIENT_ID": f"bench-bridge-{run}-{k}"},
            )
            for k, port in enumerate(ports)
        ]

    subscribers = start()
    for port in ports:  # the persistent sessions and their shared subscription now exist
        await wait_connected(port, 1)
    stop_processes(subscribers)
    await publish_backlog(mqtt, n, machines=1000)
    # the reader runs before the bridges start, so that it sees the first record arrive
    reader = asyncio.create_task(consume_until(kafka, topic, n, timeout=180))
    begin = time.monotonic()
    second = start()
    try:
        # CPU from the moment they serve metrics (imports, Kafka connect done; the drain starts right after)
        for port in ports:
            await wait_connected(port, 0, timeout=60, any_value=True)
        pids = [p.pid for p in second]
        cpu0 = tree_cpu(pids)
        first, done = await reader
        cpu1 = tree_cpu(pids)
        return Drain(n / (done - begin), n / (done - first), (cpu1 - cpu0) / n * 1e6, bridges)
    finally:
        reader.cancel()
        stop_processes(second)


async def bench(n: int, runs: int, counts: list[int]) -> list[Drain]:
    """`runs` drains with each number of bridges in `counts`, interleaved."""
    with running("mosquitto", "kafka") as servers:
        return [
            await one_drain(servers, n, r * 10 + k, bridges=k)  # type: ignore[arg-type]
            for r in range(runs)
            for k in counts
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--messages", type=int, default=90_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bridges", default="1,2", help="numbers of bridge processes, comma separated")
    args = parser.parse_args()
    counts = [int(c) for c in args.bridges.split(",")]
    drains = asyncio.run(bench(args.messages, args.runs, counts))
    rows = []
    base = 0.0
    for k in counts:
        mine = [d for d in drains if d.bridges == k]
        med = statistics.median(d.rate for d in mine) if mine else 0.0
        drain = statistics.median(d.drain_rate for d in mine) if mine else 0.0
        cpu = statistics.median(d.cpu_us for d in mine) if mine else 0.0
        if med <= 0 or drain <= 0 or cpu <= 0:
            sys.exit(f"bridge benchmark measured nothing with {k} bridge(s)")
        base = base or drain
        all_runs = ", ".join(f"{d.drain_rate:,.0f}" for d in mine)
        rows.append(
            f"| {k} | {len(mine)} | {med:,.0f} | {drain:,.0f} | {drain / k:,.0f} "
            f"| {drain * len(SENSORS):,.0f} | {drain / base:.2f} | {cpu:.1f} | {all_runs} |"
        )
    block = "\n".join(
        [
            f"### Bridge → Kafka, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {machine_description()}. `dtwin bridge` processes on one shared subscription draining "
            f"a backlog of {args.messages:,} queued {len(SENSORS)}-sensor messages from Mosquitto into Tansu "
            "(validate, produce acks=all, MQTT ack after Kafka ack); Mosquitto, Tansu and the bridges share "
            "the machine's cores. From start: the time includes process start and Kafka connect; drain: "
            "from the first record in Kafka to the last (a reader polls every 200 ms at most); CPU: the "
            "bridge processes' user + system time from their metrics answering to the last record, per "
            "message.",
            "",
            "| bridges | runs | median messages/s from start | median drain messages/s | per process "
            "| readings/s (drain) | scaling vs 1 | CPU-µs per message | all runs, drain messages/s |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
            *rows,
            "",
        ]
    )
    publish(block, args.out)


if __name__ == "__main__":
    main()
