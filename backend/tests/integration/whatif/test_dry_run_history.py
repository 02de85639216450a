"""The dry run's prediction on real servers: a machine's settings history in the change log (PostgreSQL)
and its readings (the readings view) give back the relation they were made with, within the interval; a
machine with one setting borrows the fleet's slopes; the history is only read (Redis, Kafka and the change
log unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from dtwin.contracts.changes import TwinUpdate
from dtwin.contracts.telemetry import iso_utc
from dtwin.readings.service import store_readings
from dtwin_devkit.testing import read_topic

PATCH = {"content-type": "application/merge-patch+json"}
SPAN_S = 600
STEP_S = 5


def flow(speed: float, offset: float = 0.0) -> float:
    return 10.0 + offset + 0.04 * speed


async def machine_with_history(
    app: FastAPI, machine_id: str, setpoints: list[int], offset: float, seed: int
) -> None:
    """The twin (reporting the last setpoint), a `settings` entry per setpoint every SPAN_S seconds, and
    flow readings every STEP_S: a transient far off during the first 120 s (the type's settle_s), then
    the steady level (+ noise) until the next change (a setpoint logged again unchanged moves nothing)."""
    services = app.state.services
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(seconds=SPAN_S * len(setpoints))
    rng = np.random.default_rng(seed)
    entries: list[dict[str, Any]] = []
    rows = []
    for k, sp in enumerate(setpoints):
        start = t0 + timedelta(seconds=k * SPAN_S)
        entries.append(
            {
                "machine_id": machine_id,
                "ts": start,
                "kind": "settings",
                "version": None,
                "details": {
                    "settings": {"mode": "on", "speed_setpoint_rpm": sp},
                    "times": {"mode": iso_utc(start), "speed_setpoint_rpm": iso_utc(start)},
                },
            }
        )
        level = flow(sp, offset) + float(rng.normal(0, 1.0))  # the span's steady level
        for s in range(0, SPAN_S, STEP_S):
            moved = k == 0 or setpoints[k - 1] != sp
            value = 0.0 if moved and s < 120 else level + float(rng.normal(0, 0.5))
            rows.append((machine_id, "flow_m3_h", start + timedelta(seconds=s), value, "good"))
    await services.twins.events.record_many(entries)
    await store_readings(app.state.adapters.sessions, rows)
    update = TwinUpdate(
        id=machine_id,
        machine_type="centrifugal_pump",
        site="s1",
        line="l1",
        ts=iso_utc(now),
        quality="good",
        readings={"flow_m3_h": rows[-1][3]},
        reported={"mode": "on", "speed_setpoint_rpm": setpoints[-1]},
    )
    await services.twins.store.apply([update], iso_utc(now))


def sensor(body: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in body["effect"]["sensors"] if s["sensor"] == name)
    return found


async def test_history_regression_recovers_the_relation_within_the_interval(
    app: FastAPI, client: httpx.AsyncClient, uid: str
) -> None:
    m = f"pump-{uid}"
    await machine_with_history(app, m, [1600, 2000, 2400, 2800, 1800, 2200, 2600, 2900], 0.0, 1)
    r = await client.post(
        f"/api/v1/twins/{m}/desired/dry-run", json={"speed_setpoint_rpm": 2500}, headers=PATCH
    )
    assert r.status_code == 200, r.text
    f = sensor(r.json(), "flow_m3_h")
    assert f["method"] == "history_regression" and f["samples"] == 8 and f["machines"] == 1, f
    assert f["lower"] < flow(2500) < f["upper"], f
    assert abs(f["predicted"] - flow(2500)) < 2.5  # the transients (0.0) were cut away with settle_s
    assert f["range_status"] == "inside" and f["p_outside"] < 0.01
    assert sensor(r.json(), "power_kw")["method"] == "insufficient_history"  # no readings of it
    health = r.json()["effect"]["health"]
    assert health["method"] == "limit_evidence" and health["sensors"] == 1

    # beyond the settings seen (1600..2900): said so, and the line still holds
    r = await client.post(
        f"/api/v1/twins/{m}/desired/dry-run", json={"speed_setpoint_rpm": 3000}, headers=PATCH
    )
    top = sensor(r.json(), "flow_m3_h")
    assert top["extrapolated"] is True and top["lower"] < flow(3000) < top["upper"]


async def test_a_machine_with_one_setting_borrows_the_fleets_slopes(
    app: FastAPI, client: httpx.AsyncClient, uid: str
) -> None:
    m = f"pump-{uid}-a"
    await machine_with_history(app, f"pump-{uid}-b", [1600, 2000, 2400, 2800], -5.0, 2)
    await machine_with_history(app, f"pump-{uid}-c", [1700, 2100, 2500, 2900], 5.0, 3)
    await machine_with_history(app, m, [2900, 2900, 2900], 20.0, 4)  # one setting, its own level
    # the read model has not caught up with twins written straight to the store: the fleet comes from Redis
    r = await client.post(
        f"/api/v1/twins/{m}/desired/dry-run", json={"speed_setpoint_rpm": 2000}, headers=PATCH
    )
    assert r.status_code == 200, r.text
    f = sensor(r.json(), "flow_m3_h")
    if f["method"] == "insufficient_history":
        pytest.fail(f"no fleet fallback: {f['reason']}")
    assert f["method"] == "fleet_regression" and f["machines"] >= 3, f
    assert f["lower"] < flow(2000, 20.0) < f["upper"], f


async def test_the_dry_run_reads_only(
    app: FastAPI, client: httpx.AsyncClient, uid: str, real_redis: Any
) -> None:
    m = f"pump-{uid}"
    await machine_with_history(app, m, [1600, 2000, 2400, 2900], 0.0, 5)
    prefix = app.state.adapters.settings.redis_prefix

    async def state() -> dict[bytes, bytes]:
        """Every key of the test's prefix but the rate limiter's counters (a dry run counts as a read)."""
        keys = sorted(k for k in await real_redis.keys(f"{prefix}*") if b":ratelimit:" not in k)
        return {k: await real_redis.dump(k) for k in keys}

    before = await state()
    events = (await client.get(f"/api/v1/twins/{m}/events")).json()["items"]
    for patch in ({"speed_setpoint_rpm": 2000}, {"mode": "off"}):
        assert (
            await client.post(f"/api/v1/twins/{m}/desired/dry-run", json=patch, headers=PATCH)
        ).status_code == 200
    assert await state() == before
    assert (await client.get(f"/api/v1/twins/{m}/events")).json()["items"] == events
    # Kafka: the control PATCH is the only command on the topic for this machine
    assert (
        await client.patch(f"/api/v1/twins/{m}/desired", json={"mode": "on"}, headers=PATCH)
    ).status_code == 200
    settings = app.state.adapters.settings
    records = await read_topic(settings.kafka_bootstrap, settings.topic_desired, at_least=1)
    mine = [r for r in records if getattr(r, "key", None) == m.encode()]
    assert len(mine) == 1
