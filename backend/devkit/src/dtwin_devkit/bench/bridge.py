"""`make bench` (bridge part): MQTT -> Kafka throughput of one `dtwin bridge` process, measured apart from
the simulator. A backlog is queued in Mosquitto for the bridge's persistent session while the bridge is
offline; then the bridge starts and we time how long it takes until Kafka holds every message (validation,
produce with acks=all, MQTT acks after Kafka). Median of several runs, appended to docs/benchmarks.md."""

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
from dtwin_devkit.servers import free_port, running

DTWIN = str(Path(sys.executable).parent / "dtwin")
SENSORS = {
    "temperature_c": 61.2,
    "vibration_mm_s": 2.1,
    "pressure_bar": 6.4,
    "flow_m3_h": 110.0,
    "current_a": 42.0,
    "speed_rpm": 2900.0,
}


async def consume_until(bootstrap: str, topic: str, n: int, timeout: float) -> float:
    """Consume `topic` from the beginning until `n` records arrived; returns the monotonic time of arrival.
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
        while seen < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {seen} of {n} records on {topic} within {timeout} s")
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            seen += sum(len(r) for r in batch.values())
        return time.monotonic()
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
    rate: float  # messages/s, from the bridge's start to the last record in Kafka
    drain_rate: float  # messages/s, from its metrics being up (Kafka connected) to the last record
    cpu_us: float  # the bridge process's CPU-µs per message, from its MQTT connect to the last record


async def one_drain(
    servers: dict[str, object], n: int, run: int, extra_env: dict[str, str] | None = None
) -> Drain:
    """One drain of `n` queued messages by a fresh bridge process (with `extra_env`)."""
    mqtt, kafka = servers["mosquitto"].url, servers["kafka"].url  # type: ignore[attr-defined]
    port = free_port()
    topic = f"bench.raw.{run}.{os.getpid()}"
    env = {
        **os.environ,
        "DTWIN_MQTT_URL": mqtt,
        "DTWIN_KAFKA_BOOTSTRAP": kafka,
        "DTWIN_TOPIC_TELEMETRY": topic,
        "DTWIN_BRIDGE_CLIENT_ID": f"bench-bridge-{run}",
        "DTWIN_BRIDGE_SHARED_GROUP": f"bench{run}",
        "DTWIN_LOG_LEVEL": "warning",
        "DTWIN_TOPIC_DESIRED": f"bench.desired.{run}",
        **(extra_env or {}),
    }
    cmd = [DTWIN, "bridge", "--metrics-port", str(port)]
    first = subprocess.Popen(cmd, env=env)
    await wait_connected(port, 1)  # the persistent session and its subscription now exist
    first.terminate()
    first.wait(20)
    await publish_backlog(mqtt, n, machines=1000)
    start = time.monotonic()
    second = subprocess.Popen(cmd, env=env)
    try:
        # CPU from the moment it serves metrics (imports, Kafka connect done; the drain starts right after)
        await wait_connected(port, 0, timeout=60, any_value=True)
        cpu0, up = tree_cpu([second.pid]), time.monotonic()
        done = await consume_until(kafka, topic, n, timeout=180)
        cpu1 = tree_cpu([second.pid])
        return Drain(n / (done - start), n / (done - up), (cpu1 - cpu0) / n * 1e6)
    finally:
        second.terminate()
        second.wait(20)


async def bench(n: int, runs: int) -> list[Drain]:
    with running("mosquitto", "kafka") as servers:
        return [await one_drain(servers, n, r) for r in range(runs)]  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    drains = asyncio.run(bench(args.messages, args.runs))
    rates = [d.rate for d in drains]
    med = statistics.median(rates)
    cpu = statistics.median(d.cpu_us for d in drains)
    drain = statistics.median(d.drain_rate for d in drains)
    if not drains or med <= 0 or cpu <= 0:
        sys.exit("bridge benchmark measured nothing")
    all_runs = ", ".join(f"{r:,.0f}" for r in rates)
    block = "\n".join(
        [
            f"### Bridge → Kafka, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {machine_description()}. One `dtwin bridge` process draining a backlog of "
            f"{args.messages:,} queued 6-sensor messages from Mosquitto into Tansu (validate, produce "
            "acks=all, MQTT ack after Kafka ack). From start: the time includes process start and Kafka "
            "connect; drain: from its metrics endpoint answering (Kafka connected) to the last record; "
            "CPU: the bridge process's user + system time over the drain, per message.",
            "",
            "| runs | median messages/s from start | median drain messages/s | readings/s (drain) "
            "| CPU-µs per message | all runs from start (messages/s) |",
            "| ---: | ---: | ---: | ---: | ---: | --- |",
            f"| {len(rates)} | {med:,.0f} | {drain:,.0f} | {drain * len(SENSORS):,.0f} | {cpu:.1f} "
            f"| {all_runs} |",
            "",
        ]
    )
    publish(block, args.out)


if __name__ == "__main__":
    main()
