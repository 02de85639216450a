"""The backend's tracing wiring (kit/tracing.py has the tracer and the header propagation): HTTP requests
(FastAPI's instrumentation on this app only), SQL statements (SQLAlchemy's, on this app's engine) and Redis
commands as spans, children of whatever span is current (a request, a traced consumer batch). Nothing is
instrumented when tracing is off."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dtwin.kit.tracing import Tracing

UNTRACED_URLS = "healthz,readyz,metrics"  # probes and scrapes: many, and nothing to learn from


def instrument_http(tracing: Tracing, app: FastAPI) -> None:
    if tracing.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracing.provider, excluded_urls=UNTRACED_URLS)


def instrument_stores(tracing: Tracing, engine: AsyncEngine) -> None:
    if tracing.provider is None:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=tracing.provider)
    redis = RedisInstrumentor()
    if not redis.is_instrumented_by_opentelemetry:  # process-wide: the redis client classes are patched
        redis.instrument(tracer_provider=tracing.provider)


def uninstrument_stores(tracing: Tracing) -> None:
    """Undo the process-wide Redis patch (an app stopping; tests start many)."""
    if tracing.provider is None:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    redis = RedisInstrumentor()
    if redis.is_instrumented_by_opentelemetry:
        redis.uninstrument()
