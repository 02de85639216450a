"""Simulator metrics (`dtwin simulate --metrics-port`): what a scrape shows matches what the sink was given,
errors and late ticks are counted, the endpoint serves its own registry, and the workers' sum carries them."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Sequence
from types import SimpleNamespace

import orjson
import pytest
from paho.mqtt.enums import MQTTErrorCode
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dtwin_devkit.servers import free_port
from dtwin_pipeline.simulator.fleet import Outgoing, SimulatorConfig
from dtwin_pipeline.simulator.metrics import SimulatorMetrics
from dtwin_pipeline.simulator.publisher import MqttSink, PahoMqtt
from dtwin_pipeline.simulator.runner import run_simulator
from dtwin_pipeline.simulator.sinks import SimStats
from dtwin_pipeline.simulator.workers import _sum
from tests.unit.simulator.support import T0


class ListSink:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.batches: list[list[Outgoing]] = []
        self.delay_s = delay_s

    async def send(self, batch: Sequence[Outgoing]) -> None:
        self.batches.append(list(batch))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)


class FailingSink:
    async def send(self, batch: Sequence[Outgoing]) -> None:
        raise ConnectionError("broker gone")


def scrape(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def cfg(machines: int, ticks: int, rate_hz: float = 50.0) -> SimulatorConfig:
    return SimulatorConfig(machines=machines, rate_hz=rate_hz, duration_s=ticks / rate_hz, start=T0, seed=3)


async def test_scrape_counts_what_the_sink_was_given() -> None:
    sink, stats = ListSink(), SimStats()
    metrics = SimulatorMetrics(stats)
    await run_simulator(cfg(6, 5), sink, stats)

    sent = [o for batch in sink.batches for o in batch]
    readings = sum(len(orjson.loads(o.payload)["readings"]) for o in sent)
    found = scrape(generate_latest(metrics.registry).decode())
    assert found["dtwin_simulator_machines"] == 6
    assert found["dtwin_simulator_ticks_total"] == 5
    assert found["dtwin_simulator_messages_published_total"] == len(sent) == 30
    assert found["dtwin_simulator_readings_published_total"] == readings > len(sent)
    assert found["dtwin_simulator_publish_errors_total"] == 0
    assert found["dtwin_simulator_late_ticks_total"] == 0
    assert found["dtwin_simulator_tick_lateness_seconds_total"] == 0
    # one registry of its own: nothing lands in the process-wide default one
    assert "dtwin_simulator_machines" not in generate_latest(REGISTRY).decode()


async def test_ticks_whose_publishing_overran_the_period_count_as_late() -> None:
    stats = SimStats()
    # 20 ticks a second, but each send takes 0.1 s: every tick ends ~0.05 s after the next one was due
    await run_simulator(cfg(2, 4, rate_hz=20.0), ListSink(delay_s=0.1), stats)
    found = scrape(generate_latest(SimulatorMetrics(stats).registry).decode())
    assert found["dtwin_simulator_late_ticks_total"] == 4
    assert found["dtwin_simulator_tick_lateness_seconds_total"] >= 4 * 0.05
    assert found["dtwin_simulator_lag_seconds"] >= 0.05 * 4  # the clock falls further behind each tick


async def test_a_failed_send_counts_its_messages_as_errors_and_stops_the_run() -> None:
    stats = SimStats()
    with pytest.raises(ConnectionError):
        await run_simulator(cfg(4, 3), FailingSink(), stats)
    found = scrape(generate_latest(SimulatorMetrics(stats).registry).decode())
    assert found["dtwin_simulator_publish_errors_total"] == 4  # the first tick's four messages
    assert found["dtwin_simulator_messages_published_total"] == 4


async def test_messages_paho_refuses_are_errors_and_never_awaited() -> None:
    mqtt = PahoMqtt("mqtt://127.0.0.1:1")  # never connected: publish_many only queues
    answers = iter([MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE] * 2)
    mqtt.client.publish = lambda *a, **k: SimpleNamespace(rc=next(answers))  # type: ignore[method-assign,assignment]
    stats = SimStats()
    machine = SimpleNamespace(topic=lambda: "plant/s/l/m-1/telemetry")
    batch = [Outgoing(machine, b"{}", 1) for _ in range(4)]  # type: ignore[arg-type]
    await MqttSink(mqtt, stats).send(batch)
    assert stats.errors == 2
    assert mqtt.outstanding == 2  # close() waits for the two it sent, not for the refused ones


def test_the_workers_sum_carries_errors_and_the_latest_workers_lateness() -> None:
    total = _sum(
        {
            0: {"messages": 10, "errors": 1, "late_ticks": 2, "late_s": 0.5, "ticks": 5, "machines": 3},
            1: {"messages": 12, "errors": 2, "late_ticks": 4, "late_s": 0.25, "ticks": 5, "machines": 3},
        },
        0.0,
    )
    found = scrape(generate_latest(SimulatorMetrics(total).registry).decode())
    assert found["dtwin_simulator_messages_published_total"] == 22
    assert found["dtwin_simulator_publish_errors_total"] == 3
    assert found["dtwin_simulator_machines"] == 6
    assert found["dtwin_simulator_late_ticks_total"] == 4
    assert found["dtwin_simulator_tick_lateness_seconds_total"] == 0.5


async def test_the_endpoint_serves_the_current_statistics() -> None:
    metrics = SimulatorMetrics()
    port = free_port()
    assert metrics.serve(port, host="127.0.0.1")
    try:
        metrics.stats = SimStats(messages=7, readings=56, machines=2)  # swapped in later, as --workers does

        def get() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return str(r.read().decode())

        found = scrape(await asyncio.to_thread(get))
        assert found["dtwin_simulator_messages_published_total"] == 7
        assert found["dtwin_simulator_readings_published_total"] == 56
        assert not metrics.serve(port, host="127.0.0.1")  # taken: logged, not fatal
    finally:
        metrics.close()
