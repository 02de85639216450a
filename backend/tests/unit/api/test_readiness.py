"""/readyz tells the truth about the consumer: a batch stuck retrying an infrastructure failure makes the
backend unready (it used to stay green, the retry loop counting as polls)."""

import time

import httpx
import pytest
from fastapi import FastAPI

from dtwin_devkit.testing import eventually


async def test_ready_while_the_consumer_polls(client: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await eventually(ready, what="ready")
    body = (await client.get("/readyz")).json()
    assert body["checks"]["consumer"] == "ok"
    assert body["consumer"]["stalled_s"] is None and body["consumer"]["retries"] == 0


async def test_a_stalled_consumer_makes_the_backend_unready(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.state.consumer.state
    monkeypatch.setattr(state, "stalled_since", time.monotonic() - 42)
    monkeypatch.setattr(state, "retries", 17)
    monkeypatch.setattr(state, "last_error", "ConnectionError: Connection refused")
    r = await client.get("/readyz")
    assert r.status_code == 503
    check = r.json()["checks"]["consumer"]
    assert (
        check.startswith("error: stalled for 4") and "17 retries" in check and "Connection refused" in check
    )
    counters = r.json()["consumer"]
    assert counters["retries"] == 17 and 41 < counters["stalled_s"] < 100
