"""The backend's Prometheus metrics (issue #20): one `Metrics` per app (app.state.metrics), its instruments
registered in the app's own registry, so tests that build many apps never collide on a global one.

What is counted where it happens: HTTP requests by route template (api/http_metrics.py), the consumer's
batches, sizes, stage durations, readings received and stored, dead letters by reason and lag per partition
(ingest/consumer.py), WebSocket messages sent, slow-client drops and change-stream gaps filled (realtime/),
anomaly events and alarms raised, model training runs, rate-limit rejections. What is a state of the fleet
or of the process (twins by status, WebSocket clients and subscriptions, data quality, the lifecycle) is read
at scrape time by api/metrics.py.

Cardinality is bounded: no machine or user ids in labels; routes are templates, `unmatched` otherwise;
reasons, stages, priorities, partitions and statuses are small closed sets.

Several processes (uvicorn --workers N): with PROMETHEUS_MULTIPROC_DIR set (an empty directory per start,
shared by the workers), prometheus_client keeps every value in memory-mapped files there, and /metrics sums
the workers' counters and histograms (`MultiProcessCollector`); the lag gauge is `livesum` (each partition
has one owner). What is read at scrape time is the answering worker's. docs/operations.md "Metrics"."""

from __future__ import annotations

import os
import time

from opentelemetry.trace import Span
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)
# once per batch: validate, names, quality, then storing as copy (readings into PostgreSQL), redis (the
# twins and the change stream: one round trip), registry (new twins, the change summaries, isolating a bad
# message), snapshot (state snapshots), changelog, then scoring, alarms, flush
BATCH_STAGES = (
    "validate",
    "names",
    "quality",
    "copy",
    "redis",
    "registry",
    "snapshot",
    "changelog",
    "scoring",
    "alarms",
    "flush",
)


def multiprocess() -> bool:
    """Whether this process shares its metrics with other workers through PROMETHEUS_MULTIPROC_DIR."""
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """The instruments of one backend app. Their names are the Prometheus families without the suffixes
    the client adds (`_total` for counters, `_bucket`/`_sum`/`_count` for histograms)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        # --- HTTP (api/http_metrics.py)
        self.http_requests = Counter(
            "dtwin_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "dtwin_http_request_duration_seconds",
            "Time to answer an HTTP request (until its response started), by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # --- the telemetry consumer (ingest/consumer.py)
        self.batches = Counter("dtwin_consumer_batches", "Batches the consumer processed", registry=r)
        self.batch_messages = Histogram(
            "dtwin_consumer_batch_messages",
            "Messages per processed batch",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.stage_seconds = Histogram(
            "dtwin_consumer_stage_seconds",
            "Time each stage of a batch took: validate, names (limits per type), quality (cleansing), "
            "copy (readings into PostgreSQL), redis (twins and change stream), registry (new twins, change "
            "summaries), snapshot (state snapshots), changelog, scoring, alarms, flush (dead letters and "
            "events durable), commit (offsets)",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.messages_received = Counter(
            "dtwin_consumer_messages", "Telemetry messages the consumer read", registry=r
        )
        self.readings_stored = Counter(
            "dtwin_readings_stored", "Readings of stored messages (every sensor value)", registry=r
        )
        self.dead_letters = Counter(
            "dtwin_dead_letters",
            "Messages the consumer sent to the dead-letter topic, by reason",
            ["reason"],
            registry=r,
        )
        self.lag = Gauge(
            "dtwin_consumer_lag",
            "Messages in the partition after the last one this process consumed (its high watermark at the "
            "last fetch minus the next offset), per partition it owns",
            ["partition"],
            multiprocess_mode="livesum",
            registry=r,
        )
        # --- live updates (realtime/; clients and subscriptions are read at scrape time, api/metrics.py)
        self.ws_messages = Counter("dtwin_ws_messages_sent", "Messages sent to WebSocket clients", registry=r)
        self.ws_dropped = Counter(
            "dtwin_ws_slow_clients_dropped",
            "WebSocket clients closed because they did not keep up (their queue filled)",
            registry=r,
        )
        self.ws_gaps = Counter(
            "dtwin_change_stream_gaps_filled",
            "Gaps in the change stream this process filled by reading the missed changes back",
            registry=r,
        )
        # --- analytics and alarms
        self.anomaly_events = Counter(
            "dtwin_anomaly_events", "Anomaly events (episode starts and ends) stored", registry=r
        )
        self.alarms_raised = Counter(
            "dtwin_alarms_raised", "Alarms raised, by priority", ["priority"], registry=r
        )
        self.training_runs = Counter(
            "dtwin_model_training_runs",
            "Machine-type model trainings, by outcome (installed, failed)",
            ["outcome"],
            registry=r,
        )
        # --- protection
        self.rate_limited = Counter(
            "dtwin_rate_limit_rejections",
            "Requests refused with 429, by limit class",
            ["limit"],
            registry=r,
        )


class Stages:
    """The stage times of one batch: `lap(stage)` adds the time since the previous lap to that stage (a stage
    may lap twice), `done()` observes every batch stage once (0 for one the batch skipped), so each stage's
    histogram counts the batches processed. Without metrics it does nothing."""

    def __init__(self, metrics: Metrics | None, span: Span | None = None) -> None:
        self.metrics = metrics
        self.span = span  # a traced batch: each lap is an event on its span
        self.t = time.perf_counter()
        self.spent = dict.fromkeys(BATCH_STAGES, 0.0)

    def lap(self, stage: str) -> None:
        if self.metrics is not None or self.span is not None:
            now = time.perf_counter()
            self.spent[stage] += now - self.t
            self.t = now
            if self.span is not None:
                self.span.add_event(stage, {"seconds": self.spent[stage]})

    def done(self) -> None:
        if self.metrics is not None:
            for stage, seconds in self.spent.items():
                self.metrics.stage_seconds.labels(stage).observe(seconds)
