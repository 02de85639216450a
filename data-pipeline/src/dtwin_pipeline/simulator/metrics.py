"""Simulator metrics on a Prometheus endpoint (`dtwin simulate --metrics-port`). Nothing is counted for them:
a scrape reads the `SimStats` the runner keeps anyway (so the publishing path pays nothing), in a registry of
their own. With `--workers N` the parent serves the fleet's totals (the workers' statistics summed)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dtwin_pipeline.metrics_endpoint import MetricsEndpoint
from dtwin_pipeline.simulator.sinks import SimStats


class SimulatorMetrics(Collector, MetricsEndpoint):
    """The families of one simulator process, read from `stats` at scrape time. Replace `stats` (a reference
    swap, safe from the event loop while the HTTP thread scrapes) when the run keeps its counts elsewhere."""

    def __init__(self, stats: SimStats | None = None) -> None:
        self.stats = stats or SimStats()
        MetricsEndpoint.__init__(self, CollectorRegistry(auto_describe=False))
        self.registry.register(self)

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        yield GaugeMetricFamily("dtwin_simulator_machines", "Simulated devices", value=s.machines)
        yield CounterMetricFamily("dtwin_simulator_ticks", "Ticks of the simulated clock", value=s.ticks)
        yield CounterMetricFamily(
            "dtwin_simulator_messages_published",
            "Telemetry messages handed to MQTT (or the sink); publish errors included",
            value=s.messages,
        )
        yield CounterMetricFamily(
            "dtwin_simulator_readings_published",
            "Readings (sensor values) in the published messages",
            value=s.readings,
        )
        yield CounterMetricFamily(
            "dtwin_simulator_publish_errors",
            "Messages the MQTT client refused or whose send failed",
            value=s.errors,
        )
        yield CounterMetricFamily(
            "dtwin_simulator_late_ticks",
            "Ticks whose publishing ran past the next tick's due time (with --workers: the latest worker's)",
            value=s.late_ticks,
        )
        yield CounterMetricFamily(
            "dtwin_simulator_tick_lateness_seconds",
            "How far past the next tick's due time each tick's publishing ran, summed over the ticks "
            "(rate over the ticks' rate: the mean lateness)",
            value=s.late_s,
        )
        yield GaugeMetricFamily(
            "dtwin_simulator_lag_seconds",
            "How far the simulated clock is behind the schedule after the last tick",
            value=s.lag_s,
        )
        yield CounterMetricFamily(
            "dtwin_simulator_commands_applied",
            "Desired-state messages applied to simulated devices",
            value=s.commands,
        )
        yield CounterMetricFamily("dtwin_simulator_fault_events", "Faults injected so far", value=s.faults)
        yield GaugeMetricFamily("dtwin_simulator_active_faults", "Faults active now", value=s.active_faults)
