"""`dtwin simulate`: the device fleet simulator on the command line (scenarios, ground truth, replay and
recording, worker processes, progress)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dtwin_pipeline.simulator.fleet import SimulatorConfig
    from dtwin_pipeline.simulator.metrics import SimulatorMetrics
    from dtwin_pipeline.simulator.sinks import SimStats


def simulate(
    machines: Annotated[
        int | None, typer.Option(help="Number of machines (default 50; a scenario sets its own)")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Messages per machine per second (default 1)")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 42)")] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="Default DTWIN_MQTT_URL")] = None,
    id_offset: Annotated[
        int | None, typer.Option(help="First machine number - 1 (to run several simulators)")
    ] = None,
    types: Annotated[
        str | None, typer.Option(help="Comma-separated machine types to mix (default: all)")
    ] = None,
    scenario: Annotated[
        Path | None, typer.Option(help="Scenario YAML (fleet, sites, faults, seed, ...)")
    ] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Write injected faults as JSON lines here")
    ] = None,
    fault_rate: Annotated[
        float | None, typer.Option(help="Random faults per machine and hour (adds to the scenario's)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes, each with a slice of the fleet")] = 1,
    record: Annotated[Path | None, typer.Option(help="Also record what is published to this CSV")] = None,
    replay: Annotated[Path | None, typer.Option(help="Publish a recorded CSV instead of simulating")] = None,
    speed: Annotated[float, typer.Option(help="Replay speed-up (1 = original timing, 0 = no waiting)")] = 1.0,
    commands: Annotated[bool, typer.Option(help="Obey desired-state messages (plant/+/+/+/desired)")] = True,
    device_credentials: Annotated[
        Path | None,
        typer.Option(
            help="JSON {machine_id: password} (dtwin devices provision --credentials-out): one MQTT "
            "connection per machine with its own login (default DTWIN_MQTT_DEVICE_CREDENTIALS; small fleets)"
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Prometheus port (default DTWIN_SIMULATOR_METRICS_PORT, none = off; 0 = off)"),
    ] = None,
    stamp_at_send: Annotated[
        bool,
        typer.Option(
            "--stamp-at-send",
            help="Benchmarks: each message's ts is when it is handed to MQTT (not its tick's time), so "
            "receive - ts is the pipeline's latency without the spreading of a tick over its period",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display")] = False,
    list_types: Annotated[bool, typer.Option("--list-types", help="Print machine types and exit")] = False,
) -> None:
    """Publish simulated machine telemetry to MQTT (plant/{site}/{line}/{machine_id}/telemetry, QoS 1)."""
    from dtwin.kit.logging import configure_logging
    from dtwin_pipeline.settings import get_settings

    if list_types:
        _print_types()
        return
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    url = mqtt_url or settings.mqtt_url
    user, password = settings.mqtt_username, settings.mqtt_password
    creds_path = device_credentials or settings.mqtt_device_credentials
    creds: dict[str, str] | None = None
    if creds_path is not None:
        from dtwin_pipeline.devices.credentials import read_credentials

        if replay is not None:
            raise typer.BadParameter("not with --replay", param_hint="--device-credentials")
        try:
            creds = read_credentials(creds_path)
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--device-credentials") from None
    port = settings.simulator_metrics_port if metrics_port is None else metrics_port
    if replay is not None:
        with _metrics(port) as metrics:
            stats = _replay(replay, url, user, password, speed, metrics.stats)
        typer.echo(f"replayed {stats.messages} messages ({stats.readings} readings) from {replay}")
        return
    cfg = _config(scenario, machines, rate, duration, seed, id_offset, types, fault_rate)
    cfg.stamp_at_send = stamp_at_send
    with _metrics(port) as metrics:
        stats = _simulate(
            cfg, (url, user, password), workers, ground_truth, record, commands, creds, quiet, metrics
        )
    typer.echo(
        f"published {stats.messages} messages ({stats.readings} readings) in {stats.ticks} ticks"
        f" over {stats.run_s:.2f} s"
        + (f"; ground truth: {stats.faults} fault(s) in {ground_truth}" if ground_truth else "")
    )


@contextlib.contextmanager
def _metrics(port: int | None) -> Iterator[SimulatorMetrics]:
    """The run's statistics, served to Prometheus on `port` (if one is set) until the run ends."""
    from dtwin_pipeline.simulator.metrics import SimulatorMetrics

    metrics = SimulatorMetrics()
    if port:
        metrics.serve(port)
    try:
        yield metrics
    finally:
        metrics.close()


def _simulate(
    cfg: SimulatorConfig,
    mqtt: tuple[str, str | None, str | None],
    workers: int,
    ground_truth: Path | None,
    record: Path | None,
    commands: bool,
    creds: dict[str, str] | None,
    quiet: bool,
    metrics: SimulatorMetrics,
) -> SimStats:
    """Run the fleet in this process or in `workers` processes, with a progress display unless `quiet`."""
    from dtwin_pipeline.settings import get_settings
    from dtwin_pipeline.simulator.progress import ProgressView, progress_wanted

    settings = get_settings()
    url, user, password = mqtt
    show = progress_wanted(quiet)
    view = ProgressView("dtwin simulate", workers) if show else None
    with view or contextlib.nullcontext():
        if workers > 1:
            from dtwin_pipeline.simulator.workers import run_workers

            def on_stats(total: SimStats) -> None:
                metrics.stats = total  # the parent serves the workers' sum
                if view is not None:
                    view.update(total)

            stats = run_workers(
                cfg,
                url,
                user,
                password,
                workers,
                ground_truth=ground_truth,
                record=record,
                commands=commands,
                device_credentials=creds,
                on_stats=on_stats,
                log_json=settings.log_json,
                log_level=settings.log_level,
            )
            if view is not None:
                view.update(stats, final=True)
        else:
            stats = asyncio.run(
                _single(cfg, url, user, password, ground_truth, record, commands, view, creds, metrics.stats)
            )
    return stats


def _config(
    scenario: Path | None,
    machines: int | None,
    rate: float | None,
    duration: float | None,
    seed: int | None,
    id_offset: int | None,
    types: str | None,
    fault_rate: float | None,
) -> SimulatorConfig:
    from dataclasses import replace

    from dtwin_pipeline.simulator.faults import RandomFaults
    from dtwin_pipeline.simulator.fleet import SimulatorConfig
    from dtwin_pipeline.simulator.scenario import ScenarioError, load_scenario

    if scenario is not None:
        try:
            cfg = load_scenario(scenario).to_config()
        except ScenarioError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if machines is not None or types is not None:
            typer.echo(
                "error: --machines/--types cannot be combined with --scenario (edit its fleet)", err=True
            )
            raise typer.Exit(2)
    else:
        type_list = [t.strip() for t in types.split(",") if t.strip()] if types else None
        cfg = SimulatorConfig(machines=machines if machines is not None else 50)
        if type_list:
            cfg = replace(cfg, types=type_list)
    overrides: dict[str, object] = {}
    if rate is not None:
        overrides["rate_hz"] = rate
    if duration is not None:
        overrides["duration_s"] = duration
    if seed is not None:
        overrides["seed"] = seed
    if id_offset is not None:
        overrides["id_offset"] = id_offset
    if fault_rate is not None:
        base = cfg.random_faults or RandomFaults(rate_per_machine_hour=0.0)
        overrides["random_faults"] = base.model_copy(update={"rate_per_machine_hour": fault_rate})
    cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
    try:
        from dtwin_pipeline.simulator.fleet import plan_fleet

        plan_fleet(cfg)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return cfg


async def _single(
    cfg: SimulatorConfig,
    url: str,
    user: str | None,
    password: str | None,
    ground_truth: Path | None,
    record: Path | None,
    commands: bool,
    view: object | None,
    device_credentials: dict[str, str] | None,
    stats: SimStats,
) -> SimStats:
    from dtwin_pipeline.simulator.progress import ProgressView
    from dtwin_pipeline.simulator.runner import run_mqtt_simulator

    async def refresh() -> None:
        assert isinstance(view, ProgressView)
        while True:
            view.update(stats)
            await asyncio.sleep(0.5)

    task = asyncio.create_task(refresh()) if view is not None else None
    try:
        return await run_mqtt_simulator(
            cfg,
            url,
            user,
            password,
            stats,
            ground_truth=ground_truth,
            record=record,
            commands=commands,
            device_credentials=device_credentials,
        )
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert isinstance(view, ProgressView)
            view.update(stats, final=True)


def _replay(
    path: Path, url: str, user: str | None, password: str | None, speed: float, stats: SimStats
) -> SimStats:
    from dtwin_pipeline.simulator.publisher import MqttSink, PahoMqtt
    from dtwin_pipeline.simulator.replay import ReplayError, run_replay

    async def main() -> SimStats:
        mqtt = PahoMqtt(url, user, password)
        await mqtt.connect()
        try:
            return await run_replay(path, MqttSink(mqtt, stats), speed, stats)
        finally:
            await mqtt.close()

    try:
        return asyncio.run(main())
    except (ReplayError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _print_types() -> None:
    from dtwin_pipeline.simulator.machines import MACHINE_TYPES, MODES

    for t in MACHINE_TYPES.values():
        typer.echo(f"{t.name} ({t.prefix}-NNNN): {t.description}")
        for s in t.sensors:
            typer.echo(f"    {s.name:<30} {s.unit:<6} normal {s.lo:g} .. {s.hi:g}")
        typer.echo(f"  settings: mode ({' | '.join(MODES)})")
        for st in t.settings:
            typer.echo(f"    {st.name:<30} {st.unit:<6} {st.lo:g} .. {st.hi:g}  {st.help}")
        typer.echo(f"  physical faults: {', '.join(sorted(t.faults))}")
        typer.echo("")
