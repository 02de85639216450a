"""The in-process simulator of `dtwin demo`: a feeder (dtwin.kit.feeders) that the backend finds through the
`dtwin.feeders` entry point (data-pipeline/pyproject.toml) and runs on its in-process bus, answering desired
state from `twin.desired` with acks on `twin.acks` like a device behind the bridge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dtwin.kit.bus import TelemetryBus
from dtwin.kit.feeders import Feeder, FeederError
from dtwin.kit.settings import SharedSettings
from dtwin_pipeline.simulator.fleet import SimulatorConfig
from dtwin_pipeline.simulator.runner import BusCommands, BusSink, run_simulator
from dtwin_pipeline.simulator.scenario import ScenarioError, load_scenario


def embedded_config(settings: SharedSettings) -> SimulatorConfig:
    """What the in-process simulator runs: the scenario file when one is set (its fleet, sites, faults, rate
    and seed; `simulator_rate_hz`/`simulator_seed` override those two when set), else
    `simulator_machines` machines of every type. A bad scenario raises `ScenarioError` saying where and
    why."""
    if settings.simulator_scenario is None:
        return SimulatorConfig(
            machines=settings.simulator_machines,
            rate_hz=settings.simulator_rate_hz or 1.0,
            seed=42 if settings.simulator_seed is None else settings.simulator_seed,
        )
    cfg = load_scenario(settings.simulator_scenario).to_config()
    if settings.simulator_rate_hz is not None:
        cfg = replace(cfg, rate_hz=settings.simulator_rate_hz)
    if settings.simulator_seed is not None:
        cfg = replace(cfg, seed=settings.simulator_seed)
    return cfg


@dataclass(frozen=True)
class EmbeddedSimulator:
    """A planned in-process simulation (a `dtwin.kit.feeders.Feed`)."""

    config: SimulatorConfig
    settings: SharedSettings

    @property
    def summary(self) -> Mapping[str, object]:
        scenario = self.settings.simulator_scenario
        return {
            "scenario": str(scenario) if scenario else None,
            "machines": self.config.machines,
            "rate_hz": self.config.rate_hz,
            "faults": len(self.config.faults),
        }

    async def run(self, bus: TelemetryBus) -> None:
        s = self.settings
        commands = BusCommands(bus, s.topic_desired, s.topic_acks)
        await run_simulator(self.config, BusSink(bus, s.topic_telemetry), commands=commands)


def plan(settings: SharedSettings) -> EmbeddedSimulator:
    """The `dtwin.feeders` entry point: the simulation these settings ask for; FeederError with the
    scenario's own message if its file is wrong."""
    try:
        return EmbeddedSimulator(embedded_config(settings), settings)
    except ScenarioError as exc:
        raise FeederError(str(exc)) from exc


if TYPE_CHECKING:
    _entry_point: Feeder = plan  # mypy holds the entry point to the protocol the backend calls
