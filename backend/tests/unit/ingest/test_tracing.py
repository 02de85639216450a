"""Issue #20: one trace from the bridge to the consumer for a message. The bridge (in process, sharing the
embedded backend's bus) traces a message (sample ratio 1), the record carries `traceparent`, the backend's
consumer opens a batch span linking to it, whose SQL and Redis calls are its children, and continues the
message's own trace with `telemetry.stored`; the change the batch published carries its trace to the
WebSocket fan-out. An untraced message carries no header and makes no span."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dtwin.config import Settings
from dtwin.kit.tracing import TRACEPARENT, setup_tracing
from dtwin.main import create_app
from dtwin_devkit.testing import eventually
from dtwin_pipeline.bridge.intake import Incoming
from dtwin_pipeline.bridge.service import Bridge, BridgeConfig


@pytest.fixture
async def traced(app_settings: Settings) -> AsyncIterator[tuple[FastAPI, InMemorySpanExporter]]:
    spans = InMemorySpanExporter()
    app = create_app(
        app_settings, tracing=setup_tracing("dtwin-backend", endpoint=None, ratio=1.0, exporter=spans)
    )
    async with app.router.lifespan_context(app):
        yield app, spans


def payload(machine: str, value: float) -> bytes:
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "conveyor",
        "ts": datetime.now(UTC).isoformat(),
        "readings": {"speed_rpm": value},
    }
    return orjson.dumps(body)


def bridge_on(app: FastAPI, ratio: float) -> tuple[Bridge, InMemorySpanExporter]:
    """A bridge in this process feeding the app's bus, tracing `ratio` of its messages into memory."""
    spans = InMemorySpanExporter()
    tracing = setup_tracing("dtwin-bridge", endpoint=None, ratio=ratio, exporter=spans)
    config = BridgeConfig(topic_telemetry="telemetry.raw")
    return Bridge(config, bus=app.state.adapters.bus, tracing=tracing), spans


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def no_ack(packet_id: int) -> None:  # QoS 0 here: nothing to acknowledge
    raise AssertionError(f"acknowledged {packet_id}")


async def test_a_message_is_one_trace_from_bridge_to_consumer(
    traced: tuple[FastAPI, InMemorySpanExporter],
) -> None:
    app, backend_spans = traced
    bus = app.state.adapters.bus
    bridge, bridge_spans = bridge_on(app, 1.0)
    await bridge.forward(
        [Incoming("plant/site-1/line-1/tr-1/telemetry", payload("tr-1", 10.0), None)], no_ack
    )
    (forward,) = bridge_spans.get_finished_spans()
    assert forward.name == "bridge.forward"
    sent = bus.retained("telemetry.raw")[-1]
    assert sent.headers[TRACEPARENT].split("-")[1] == format(forward.context.trace_id, "032x")

    async def stored() -> list[ReadableSpan]:
        return named(list(backend_spans.get_finished_spans()), "telemetry.stored")

    (done,) = await eventually(stored, what="the consumer's span in the message's trace")
    assert done.context.trace_id == forward.context.trace_id  # one trace: bridge -> consumer
    assert done.parent is not None and done.parent.span_id == forward.context.span_id
    spans = list(backend_spans.get_finished_spans())
    (batch,) = named(spans, "consumer.batch")
    assert [link.context.span_id for link in batch.links] == [forward.context.span_id]
    assert [link.context.span_id for link in done.links] == [batch.context.span_id]
    children = [s for s in spans if s.parent is not None and s.parent.span_id == batch.context.span_id]
    names = {s.name for s in children}
    assert any(n.startswith("redis") for n in names), names  # the twins' pipeline
    assert names - {n for n in names if n.startswith("redis")}, names  # and SQL statements
    assert {e.name for e in batch.events} >= {"validate", "copy", "redis", "flush"}

    async def fanned_out() -> list[ReadableSpan]:  # the change the batch published, to the WebSocket hub
        return named(list(backend_spans.get_finished_spans()), "ws.fanout")

    (fanout,) = await eventually(fanned_out, what="the traced change's WebSocket fan-out")
    assert fanout.parent is not None and fanout.parent.span_id == batch.context.span_id
    assert fanout.context.trace_id == batch.context.trace_id


async def test_an_untraced_message_carries_no_header_and_makes_no_span(
    traced: tuple[FastAPI, InMemorySpanExporter],
) -> None:
    app, backend_spans = traced
    bus = app.state.adapters.bus
    bridge, bridge_spans = bridge_on(app, 0.0)
    await bridge.forward([Incoming("plant/site-1/line-1/tr-2/telemetry", payload("tr-2", 1.0), None)], no_ack)
    assert not bridge_spans.get_finished_spans()
    assert TRACEPARENT not in bus.retained("telemetry.raw")[-1].headers

    async def consumed() -> bool:
        return bool(app.state.consumer.state.messages >= 1)

    await eventually(consumed, what="the message consumed")
    assert not named(list(backend_spans.get_finished_spans()), "consumer.batch")
