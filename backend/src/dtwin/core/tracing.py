"""The backend's tracing wiring (kit/tracing.py has the tracer and the header propagation): HTTP requests
(FastAPI's instrumentation on this app only), SQL statements (this app's engine) and Redis commands and
pipelines (this app's client) as spans, children of whatever span is current (a request, a
traced consumer batch). Nothing is instrumented when tracing is off.

Redis is wrapped here rather than by opentelemetry-instrumentation-redis: that one patches the client
classes process-wide and formats every command of every pipeline into the span's statement before it knows
whether the span records; for the consumer's pipeline of one write per machine that cost 7% of a batch
that was not even traced (`make bench-observability`). Here a command or pipeline makes a span only inside
a recording span, named by its command (no arguments: they hold readings)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from dtwin.kit.tracing import Tracing

UNTRACED_URLS = "healthz,readyz,metrics"  # probes and scrapes: many, and nothing to learn from


def instrument_http(tracing: Tracing, app: FastAPI) -> None:
    if tracing.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracing.provider, excluded_urls=UNTRACED_URLS)


def instrument_stores(tracing: Tracing, engine: AsyncEngine, redis: aioredis.Redis) -> None:
    if tracing.provider is None:
        return
    instrument_sql(tracing, engine)
    instrument_redis(tracing, redis)


def instrument_sql(tracing: Tracing, engine: AsyncEngine) -> None:
    """A span per SQL statement of this engine inside a recording span, named by its operation (`SELECT`,
    `INSERT`, ...; the text as `db.query.text` without parameters). SQLAlchemy's cursor events, because
    opentelemetry-instrumentation-sqlalchemy refuses SQLAlchemy 2.1."""
    sync = engine.sync_engine
    system = sync.dialect.name

    @event.listens_for(sync, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if context is None or not trace.get_current_span().is_recording():
            return
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        context._dtwin_span = tracing.tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": system,
                "db.operation.name": operation,
                "db.query.text": statement[:2000],
                "db.operation.batch.size": len(params) if many and params else 1,
            },
        )

    @event.listens_for(sync, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        span = getattr(context, "_dtwin_span", None)
        if span is not None:
            span.end()
            context._dtwin_span = None

    @event.listens_for(sync, "handle_error")
    def failed(exc: Any) -> None:
        span = getattr(exc.execution_context, "_dtwin_span", None)
        if span is not None:
            span.record_exception(exc.original_exception)
            span.end()
            exc.execution_context._dtwin_span = None


def _traced(tracing: Tracing, call: Any, describe: Callable[..., tuple[str, dict[str, Any]]]) -> Any:
    """`call` in a client span (name and attributes: `describe(*args)`) inside a recording span."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not trace.get_current_span().is_recording():
            return await call(*args, **kwargs)
        name, attributes = describe(*args)
        with tracing.tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes={"db.system.name": "redis", **attributes}
        ):
            return await call(*args, **kwargs)

    return wrapper


def instrument_redis(tracing: Tracing, client: aioredis.Redis) -> None:
    """Spans for this client's commands and pipelines, inside a recording span only."""
    if tracing.provider is None:
        return

    def command(*args: Any) -> tuple[str, dict[str, Any]]:
        op = str(args[0]) if args else "redis"
        return f"redis {op}", {"db.operation.name": op}

    client.execute_command = _traced(tracing, client.execute_command, command)  # type: ignore[method-assign]
    make_pipeline = client.pipeline

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        pipe.execute = _traced(  # type: ignore[method-assign]
            tracing,
            pipe.execute,
            lambda *a: ("redis pipeline", {"db.redis.pipeline_length": len(pipe.command_stack)}),
        )
        return pipe

    client.pipeline = pipeline  # type: ignore[method-assign]
