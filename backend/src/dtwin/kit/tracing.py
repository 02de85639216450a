"""Distributed tracing (OpenTelemetry), off unless configured (issue #20): a reading's trace starts at the
bridge and travels in the Kafka record's `traceparent` header (W3C trace context) to the backend's consumer,
whose batch span links to every traced message it holds.

Sampling is decided once, where a trace starts: the bridge traces a message with probability `ratio`
(DTWIN_TRACE_SAMPLE_RATIO), or when the device sent a sampled `traceparent` as an MQTT v5 user property.
An untraced message carries no header and costs one random draw: at 20k messages/s a span per message would
cost more than the bridge's own work, and a non-recording span still costs its creation. A span started
with the attribute `KEEP` (the bridge's chosen messages, a consumer batch holding traced messages) is
sampled; a span with a parent follows the parent's decision (the consumer's per-message span, the batch's
SQL and Redis calls); any other root span (an HTTP request, a database call outside a traced batch) is
sampled at `ratio`.

Spans go to an OTLP/HTTP collector at DTWIN_OTLP_ENDPOINT (e.g. http://otel-collector:4318) in batches, or
to the exporter a test passes. The provider is the process's own object, never the global one, so tests
that build many apps do not share it. The trace and span ids of the current span are added to every JSON
log line (kit/logging.py)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass
class Tracing:
    """A process's tracer. `enabled` false: every method is a cheap no-op."""

    tracer: trace.Tracer
    ratio: float
    provider: TracerProvider | None = None

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def start_here(self) -> bool:
        """Whether a trace starting here (a message entering at the bridge) is sampled."""
        return self.provider is not None and random.random() < self.ratio

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


DISABLED = Tracing(trace.NoOpTracer(), 0.0)


KEEP = "dtwin.trace.keep"  # span attribute: this root span starts a trace we decided to keep


class _Sampler(Sampler):
    """`KEEP` roots sampled; otherwise the parent's decision, or `ratio` for other roots."""

    def __init__(self, ratio: float) -> None:
        self.other = ParentBased(TraceIdRatioBased(ratio))

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if attributes and attributes.get(KEEP):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return self.other.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"dtwin({self.other.get_description()})"  # type: ignore[no-untyped-call]


def setup_tracing(
    service: str,
    *,
    endpoint: str | None,
    ratio: float,
    exporter: SpanExporter | None = None,
) -> Tracing:
    """The process's tracing: OTLP/HTTP to `endpoint` (batched), or to `exporter` (each span as it ends: for
    tests); DISABLED when neither is given. Sampling: the module's docstring."""
    if endpoint is None and exporter is None:
        return DISABLED
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=_Sampler(ratio))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert endpoint is not None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint.rstrip('/')}/v1/traces")))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider.get_tracer("dtwin"), ratio, provider)


def inject(span: trace.Span, headers: dict[str, str]) -> None:
    """Put the span's context into `headers` as `traceparent`."""
    _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))


def current_traceparent() -> str | None:
    """The `traceparent` of the current span when it records (a traced batch), else None."""
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    headers: dict[str, str] = {}
    inject(span, headers)
    return headers.get(TRACEPARENT)


def remote_context(headers: Mapping[str, str]) -> SpanContext | None:
    """The sampled span context a `traceparent` header (or MQTT user property) carries, else None."""
    value = headers.get(TRACEPARENT)
    if not value:
        return None
    ctx = _PROPAGATOR.extract({TRACEPARENT: value})
    span_ctx = trace.get_current_span(ctx).get_span_context()
    if not span_ctx.is_valid or not span_ctx.trace_flags & TraceFlags.SAMPLED:
        return None
    return span_ctx


def as_parent(span_ctx: SpanContext) -> Context:
    """A context whose current span is the remote one: start a child span in it."""
    return trace.set_span_in_context(NonRecordingSpan(span_ctx))


def links(contexts: list[SpanContext]) -> list[Link]:
    return [Link(c) for c in contexts]
