"""Liveness (/healthz: the process answers) and readiness (/readyz: Redis, database, consumer)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from dtwin.auth.deps import PUBLIC
from dtwin.core.deps import AdaptersDep
from dtwin.kit.failures import describe

router = APIRouter(tags=["health"], dependencies=[PUBLIC])

CONSUMER_STALL_S = 30.0


class Health(BaseModel):
    status: str


class ConsumerCounters(BaseModel):
    """The telemetry consumer's counters since this process started (until Prometheus metrics exist)."""

    batches: int
    messages: int
    readings: int
    rejected: int  # dead-lettered: invalid, over a limit, or refused by a store
    poison: int  # of those: valid messages a store refused (isolated by halving their batch)
    retries: int  # batch attempts that failed on infrastructure
    stalled_s: float | None  # seconds the current batch has been failing past the stall time
    outage_readings: int = 0  # readings waiting for the database while it is out (twins stay live)
    outage_s: float = 0.0  # how long the database has been out for the consumer (0: it is not)
    # data cleansing (docs/data-quality.md): counts per rule since this process started (null: disabled)
    data_quality: dict[str, int] | None = None


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    mode: dict[str, str]
    consumer: ConsumerCounters | None = None


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive and serving HTTP."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request, adapters: AdaptersDep) -> JSONResponse:
    """Ready to serve: Redis answers PING, the database answers a query, and the telemetry consumer is
    running, polled its topic recently and is not stuck retrying a batch (an infrastructure failure for
    longer than its stall time). 503 with the failing checks otherwise."""
    checks: dict[str, str] = {}
    try:
        await adapters.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {describe(exc)}"

    async def select_one() -> None:
        async with adapters.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await adapters.db_check.run(select_one())
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {describe(exc)}"
    consumer = request.app.state.consumer
    state = consumer.state
    now = time.monotonic()
    idle = now - state.last_poll_monotonic
    if not adapters.supervisor.running("telemetry-consumer") or not state.started:
        checks["consumer"] = "error: not running"
    elif state.stalled_since is not None:
        checks["consumer"] = (
            f"error: stalled for {now - state.stalled_since:.0f} s, the same batch failing "
            f"({state.retries} retries so far): {state.last_error}"
        )
    elif idle > CONSUMER_STALL_S:
        checks["consumer"] = f"error: no poll for {idle:.0f} s ({state.last_error or 'stalled'})"
    else:
        checks["consumer"] = "ok"
    ok = all(v == "ok" for v in checks.values())
    counters = ConsumerCounters(
        batches=state.batches,
        messages=state.messages,
        readings=state.readings,
        rejected=state.rejected,
        poison=state.poison,
        retries=state.retries,
        stalled_s=round(now - state.stalled_since, 1) if state.stalled_since is not None else None,
        outage_readings=state.outage_readings,
        outage_s=round(state.outage_s, 1),
        data_quality=consumer.quality.snapshot() if consumer.quality is not None else None,
    )
    body = Readiness(
        status="ok" if ok else "unavailable", checks=checks, mode=adapters.mode, consumer=counters
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
