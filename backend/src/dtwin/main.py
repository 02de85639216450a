"""create_app(settings): the FastAPI application and its lifespan (adapters, migrations, background tasks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from dtwin import __version__
from dtwin.alarms.stage import AlarmStage
from dtwin.anomalies.engine import EngineConfig, ScoringEngine
from dtwin.anomalies.model_store import FileModelStore
from dtwin.anomalies.scoring import ScoringStage
from dtwin.api.guards import install_request_guards
from dtwin.api.hardening import install_hardening
from dtwin.api.health import router as health_router
from dtwin.api.http_metrics import HttpMetricsMiddleware
from dtwin.api.metrics import router as metrics_router
from dtwin.api.router import api_router
from dtwin.audit.middleware import AuditMiddleware
from dtwin.audit.service import AuditRecorder
from dtwin.auth.bootstrap import jwt_secret, start_auth
from dtwin.auth.deps import PUBLIC
from dtwin.config import Settings, get_settings
from dtwin.core import migrate
from dtwin.core.adapters import Adapters, build_adapters
from dtwin.core.change_stream import ChangeStream
from dtwin.core.db import transaction
from dtwin.core.metrics import Metrics
from dtwin.core.ratelimit import build_rate_limiter
from dtwin.core.runtime import tune_gc, tune_malloc
from dtwin.core.tracing import instrument_http, instrument_stores
from dtwin.data_quality.cleanse import CleanseConfig, Cleanser
from dtwin.data_quality.stage import DataQualityStage
from dtwin.demo import seed_demo
from dtwin.errors import document_problems, install_error_handlers
from dtwin.forecast.service import Forecaster
from dtwin.ingest.consumer import TelemetryConsumer
from dtwin.ingest.outage import OutageBuffer
from dtwin.kit.feeders import load_feeder
from dtwin.kit.logging import configure_logging
from dtwin.kit.tracing import Tracing, setup_tracing
from dtwin.lifecycle.service import LifecycleTask
from dtwin.lifecycle.wiring import lifecycle_service
from dtwin.machine_types.catalogue import catalogue_types, type_rows
from dtwin.machine_types.ranges import OperatingRanges
from dtwin.machine_types.service import MachineTypeService
from dtwin.notifications.wiring import start_notifications
from dtwin.readings.service import purge_readings
from dtwin.realtime.feed import ChangeFeed, Listener
from dtwin.realtime.hub import Hub
from dtwin.realtime.routes import Realtime
from dtwin.realtime.routes import router as ws_router
from dtwin.realtime.schemas import openapi_components
from dtwin.reports.wiring import report_runner, start_report_scheduler
from dtwin.twins.acks import AckConsumer
from dtwin.twins.durable import Durability, StateSnapshots, TwinRegistry
from dtwin.twins.events import TwinEventLog
from dtwin.twins.rebuild import rebuild
from dtwin.twins.reconcile import ReconcileConfig, Reconciler
from dtwin.twins.recovery import StateGuard
from dtwin.twins.service import TwinService
from dtwin.twins.status import StatusWatcher
from dtwin.twins.store import TwinStore
from dtwin.twins.view import FleetView

log = structlog.get_logger(__name__)


def worker_app() -> FastAPI:
    """One worker of `dtwin serve --workers N` (uvicorn imports this in each worker process): the settings
    and logging from the environment, as the parent had them."""
    settings = get_settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None, tracing: Tracing | None = None) -> FastAPI:
    """The backend app. `tracing`: the process's (tests pass one exporting to memory); by default from
    DTWIN_OTLP_ENDPOINT and DTWIN_TRACE_SAMPLE_RATIO (off without an endpoint)."""
    settings = settings or get_settings()
    tracing = tracing or setup_tracing(
        "dtwin-backend", endpoint=settings.otlp_endpoint, ratio=settings.trace_sample_ratio
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jwt_secret(settings)  # a real mode without DTWIN_JWT_SECRET stops here, before connecting anywhere
        adapters = build_adapters(settings)
        app.state.adapters = adapters
        instrument_stores(tracing, adapters.engine, adapters.redis)
        try:
            if settings.auto_migrate:
                await migrate.upgrade(settings.database_url)
            app.state.auth = await start_auth(settings, adapters.sessions)
            app.state.rate_limiter = build_rate_limiter(settings, adapters.redis)
            app.state.audit = AuditRecorder(adapters.sessions, app.state.auth)
            adapters.supervisor.start("audit-recorder", app.state.audit.run)
            app.state.notice_outbox = await start_notifications(settings, adapters)
            await adapters.bus.start()
            await adapters.bus.ensure_topics(
                {
                    settings.topic_telemetry: settings.kafka_partitions,
                    settings.topic_dlq: 1,
                    settings.topic_desired: settings.kafka_partitions,
                    settings.topic_acks: settings.kafka_partitions,
                    settings.topic_state: settings.kafka_partitions,
                    settings.topic_anomaly_events: settings.kafka_partitions,
                    settings.topic_decisions: settings.kafka_partitions,
                }
            )
            app.state.services = await _start_services(app, settings, adapters)
            if settings.demo_seed:
                await seed_demo(adapters.sessions, settings.plant_tz)
            if settings.gc_tuning:
                tune_gc()
            if settings.malloc_tuning:
                tune_malloc()
            log.info("backend_started", version=__version__, **adapters.mode)
            yield
        finally:
            await adapters.close()
            tracing.shutdown()
            log.info("backend_stopped")

    app = FastAPI(
        title="dtwin",
        version=__version__,
        summary="Industrial digital-twin platform: live twins, telemetry history and analytics.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_request_guards(app)
    install_hardening(app, settings)
    app.add_middleware(AuditMiddleware)  # it sees the status of every answer
    app.state.metrics = Metrics()
    app.state.tracing = tracing
    instrument_http(tracing, app)
    app.add_middleware(HttpMetricsMiddleware)  # outermost of ours: every request's time and status
    _document_websocket(app)

    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(api_router)
    app.include_router(ws_router)
    dist = settings.frontend_dist
    if dist is not None and (dist / "index.html").is_file():
        app.mount("/", StaticFiles(directory=dist, html=True), name="dashboard")
    else:

        @app.get("/", include_in_schema=False, dependencies=[PUBLIC])
        async def root() -> JSONResponse:
            return JSONResponse(
                {
                    "service": "dtwin",
                    "docs": "/docs",
                    "dashboard": "not built: run `make frontend` (or `make demo`)",
                }
            )

    return app


@dataclass(frozen=True)
class Services:
    """What the lifespan builds on the adapters, once per process (app.state.services): the composition
    root's typed container. Requests reach a service through its room's dependency (`twins/deps.py`)."""

    store: TwinStore
    events: TwinEventLog
    durable: Durability
    view: FleetView
    twins: TwinService
    ranges: OperatingRanges
    consumer: TelemetryConsumer
    hub: Hub
    feed: ChangeFeed
    realtime: Realtime


async def _start_services(app: FastAPI, settings: Settings, adapters: Adapters) -> Services:
    """Wire the domain services onto the adapters and start the background tasks. A backend that finds
    Redis empty rebuilds the twins from their durable copies before it serves."""
    store = TwinStore(adapters.redis, adapters.keys, settings.ws_replay_entries)
    events = TwinEventLog(adapters.sessions)
    snapshots = StateSnapshots(adapters.bus, settings.topic_state, store, settings.state_snapshot_interval_s)
    durable = Durability(TwinRegistry(adapters.sessions), snapshots)
    guard = StateGuard(
        adapters.redis,
        adapters.keys,
        partial(
            rebuild,
            adapters.bus,
            store,
            adapters.sessions,
            topic=settings.topic_state,
            lookback=timedelta(days=settings.rebuild_lookback_days),
        ),
        check_s=settings.redis_check_s,
    )
    app.state.state_guard = guard
    if settings.auto_rebuild:  # before serving: the twins in Redis are complete, or rebuilt
        await guard.ensure()
        adapters.supervisor.start("state-guard", guard.run)
    ranges = await _machine_type_ranges(settings, adapters)
    app.state.machine_type_ranges = ranges
    scoring = _scoring_stage(settings, adapters, ranges)
    if scoring is not None:
        scoring.metrics = app.state.metrics
    alarms = _alarm_stage(app, settings, adapters)
    quality = _data_quality_stage(settings, adapters, ranges, scoring_started=scoring is not None)
    consumer = TelemetryConsumer(
        adapters.bus,
        adapters.sessions,
        store,
        topic=settings.topic_telemetry,
        dlq_topic=settings.topic_dlq,
        group=settings.consumer_group,
        max_records=settings.consumer_max_records,
        poll_timeout_ms=settings.consumer_poll_timeout_ms,
        events=events,
        durable=durable,
        scoring=scoring,
        alarms=alarms,
        limits=settings.limits(),
        stall_after_s=settings.consumer_stall_after_s,
        outage=OutageBuffer(max_readings=settings.outage_buffer_readings),
        db_timeout_s=settings.db_timeout_s,
        quality=quality,
        metrics=app.state.metrics,
        tracing=app.state.tracing,
    )
    view = FleetView()
    hub = Hub(view, settings.ws_queue_size, metrics=app.state.metrics, tracing=app.state.tracing)
    # the hub first (it reads the placement of removed twins from the view); scoring forgets removed twins
    listeners: list[Listener] = [hub.dispatch] if scoring is None else [hub.dispatch, scoring.on_change]
    if alarms is not None:
        listeners.append(alarms.on_change)  # suppression by design follows the desired `mode`
    feed = ChangeFeed(
        store,
        view,
        listeners,
        on_resync=hub.resync,
        gap_limit=settings.ws_replay_entries,
        metrics=app.state.metrics,
    )
    app.state.consumer, app.state.hub, app.state.feed = consumer, hub, feed
    adapters.supervisor.start("change-feed", feed.run)
    await asyncio.wait_for(view.ready.wait(), timeout=60)
    adapters.supervisor.start("telemetry-consumer", consumer.run)
    acks = AckConsumer(
        adapters.bus,
        store,
        topic=settings.topic_acks,
        dlq_topic=settings.topic_dlq,
        group=f"{settings.consumer_group}-acks",
        events=events,
        snapshots=snapshots,
        registry=durable.registry,
    )
    adapters.supervisor.start("acks-consumer", acks.run)
    service = TwinService(
        store,
        adapters.bus,
        settings.topic_desired,
        settings.twin_expected_interval_s,
        events,
        durable,
        view,
        purge_history=partial(purge_readings, adapters.sessions),
    )
    app.state.realtime = realtime = Realtime(
        hub,
        feed,
        store,
        service,
        adapters.sessions,
        heartbeat_s=settings.ws_heartbeat_s,
        max_lifetime_s=settings.ws_max_lifetime_s,
        replay_limit=settings.ws_replay_entries,
    )
    adapters.supervisor.start("status-watcher", StatusWatcher(service, events).run)
    if settings.reconcile_enabled:
        reconciler = Reconciler(
            service,
            adapters.redis,
            adapters.keys.reconciler_lease,
            ReconcileConfig(
                interval_s=settings.reconcile_interval_s,
                resend_after_s=settings.reconcile_resend_after_s,
                max_backoff_s=settings.reconcile_max_backoff_s,
                max_per_cycle=settings.reconcile_max_per_cycle,
            ),
        )
        adapters.supervisor.start("desired-reconciler", reconciler.run)
    app.state.lifecycle = lifecycle = lifecycle_service(settings, adapters.sessions)
    if settings.lifecycle_enabled:
        adapters.supervisor.start("data-lifecycle", LifecycleTask(lifecycle).run)
    forecast_pool = ProcessPoolExecutor(max_workers=1)  # forecasts are fitted off the event loop
    adapters.on_close.append(lambda: forecast_pool.shutdown(wait=False, cancel_futures=True))
    app.state.forecaster = forecaster = Forecaster(forecast_pool)
    app.state.report_runner = runner = report_runner(
        settings, adapters.sessions, adapters.redis, adapters.keys, service, lifecycle, forecaster
    )
    start_report_scheduler(settings, runner, adapters.supervisor)
    if settings.embedded_simulator:
        _start_embedded_simulator(settings, adapters)
    return Services(store, events, durable, view, service, ranges, consumer, hub, feed, realtime)


async def _machine_type_ranges(settings: Settings, adapters: Adapters) -> OperatingRanges:
    """Seed the machine-type registry with the catalogue types it never had (an operator's edits and
    deletions stay), then load the operating ranges the scoring engine uses. Without a readable registry
    the catalogue's ranges stand in."""
    catalogue = catalogue_types()
    ranges = OperatingRanges(
        adapters.sessions,
        fallback=type_rows(catalogue) if catalogue else None,
        refresh_s=settings.machine_types_refresh_s,
    )
    if catalogue:
        try:
            async with transaction(adapters.sessions) as session:
                await MachineTypeService(session).seed(catalogue)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("machine_types_not_seeded", error=f"{type(exc).__name__}: {exc}")
    await ranges.load()
    log.info("machine_type_ranges_ready", source=ranges.source, types=len(ranges.table))
    return ranges


def _alarm_stage(app: FastAPI, settings: Settings, adapters: Adapters) -> AlarmStage | None:
    """Threshold rules and anomaly alarms in the consumer, with their housekeeping (rules refresh, shelving
    expiry, suppression). Notifications: the outbox the notifications room put on app.state (if any)."""
    if not settings.alarms_enabled:
        return None
    stage = AlarmStage(
        adapters.sessions,
        outbox=getattr(app.state, "notice_outbox", None),
        changes=ChangeStream(adapters.redis, adapters.keys, settings.ws_replay_entries),
        anomaly_score=settings.alarm_anomaly_score,
        rul_hours=settings.alarm_rul_hours,
        dead_letters_per_min=settings.alarm_dead_letters_per_min,
        rules_refresh_s=settings.alarm_rules_refresh_s,
        db_timeout_s=settings.db_timeout_s,
    )
    app.state.alarm_stage = stage
    stage.metrics = app.state.metrics
    adapters.supervisor.start("alarm-housekeeping", stage.housekeep_forever)
    return stage


def _data_quality_stage(
    settings: Settings, adapters: Adapters, ranges: OperatingRanges, *, scoring_started: bool
) -> DataQualityStage | None:
    """The consumer's cleansing rules (physical ranges from the machine-type registry, gaps, late messages,
    clock offsets) and the task that stores what they find (docs/data-quality.md)."""
    if not settings.data_quality_enabled:
        return None
    if not scoring_started:  # the registry's ranges are refreshed by the scoring stage's task otherwise
        adapters.supervisor.start("machine-type-ranges", ranges.run)
    config = CleanseConfig(
        gap_factor=settings.data_quality_gap_factor,
        gap_floor_s=settings.data_quality_gap_floor_s,
        lateness_s=settings.data_quality_lateness_s,
        clock_window_s=settings.data_quality_clock_window_s,
        clock_windows=settings.data_quality_clock_windows,
        clock_offset_threshold_s=settings.data_quality_clock_threshold_s,
        clock_correct=settings.data_quality_clock_correction,
        clock_max_correction_s=settings.data_quality_clock_max_correction_s,
    )
    stage = DataQualityStage(
        adapters.sessions, Cleanser(config, ranges), flush_s=settings.data_quality_flush_s
    )
    adapters.supervisor.start("data-quality-flush", stage.run)
    return stage


def _scoring_stage(settings: Settings, adapters: Adapters, ranges: OperatingRanges) -> ScoringStage | None:
    """The scoring engine with its persisted models, and model training in a process pool; its operating
    ranges come from the machine-type registry (refreshed in the background). Machines silent for
    `scoring_evict_after_s` (wall clock) are evicted by the housekeeping task."""
    if not settings.scoring_enabled:
        return None
    adapters.supervisor.start("machine-type-ranges", ranges.run)
    config = EngineConfig(max_sensors_per_type=settings.limits().max_sensors_per_type)
    stage = ScoringStage(
        ScoringEngine(config, limits=ranges, clock=time.monotonic, unscored=ranges.is_counter),
        redis=adapters.redis,
        keys=adapters.keys,
        bus=adapters.bus,
        sessions=adapters.sessions,
        events_topic=settings.topic_anomaly_events,
        decisions_topic=settings.topic_decisions,
        model_store=FileModelStore(settings.models_dir),
        changes=ChangeStream(adapters.redis, adapters.keys, settings.ws_replay_entries),
        evict_after_s=settings.scoring_evict_after_s,
        db_timeout_s=settings.db_timeout_s,
    )
    loaded = stage.load_models()
    pool = ProcessPoolExecutor(max_workers=1)
    adapters.on_close.append(lambda: pool.shutdown(wait=False, cancel_futures=True))
    adapters.supervisor.start(
        "model-training", lambda: stage.train_forever(pool, settings.training_interval_s)
    )
    adapters.supervisor.start("scoring-housekeeping", stage.housekeep_forever)
    log.info("scoring_ready", models_loaded=loaded)
    return stage


def _start_embedded_simulator(settings: Settings, adapters: Adapters) -> None:
    """The demo's in-process simulator: the feeder registered under the `dtwin.feeders` entry points (the
    data pipeline's), publishing into the in-process bus. Without one installed, startup fails saying so
    (FeederError); `dtwin serve`/`dtwin demo` check this before they start."""
    if not adapters.bus.in_process:
        log.warning("embedded_simulator_skipped", reason="only with the in-process bus; run `dtwin simulate`")
        return
    feed = load_feeder()(settings)
    bus = adapters.bus
    adapters.supervisor.start("embedded-simulator", lambda: feed.run(bus))
    log.info("embedded_simulator_started", **feed.summary)


def _document_websocket(app: FastAPI) -> None:
    """OpenAPI has no WebSocket operations: publish the `/ws` message models as components instead, so
    clients generate their types from the same document (see docs/api.md)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = document_problems(FastAPI.openapi(app))
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, component in openapi_components().items():
                components.setdefault(name, component)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
