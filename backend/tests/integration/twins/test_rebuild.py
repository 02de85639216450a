"""Redis flushed mid-run: a backend that starts on the empty Redis restores every twin (readings, reported
settings, desired state, attributes, command outcome) from twin.state and PostgreSQL, with nothing lost."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import redis.asyncio as aioredis

from dtwin.config import Settings
from dtwin.kit.bus import KafkaBus
from dtwin.main import create_app
from dtwin_devkit.testing import eventually

from ...factories.auth import as_admin

# the session's PostgreSQL is shared with other tests, so a rebuild also restores their machines: this test
# looks only at its own (ids carry the test's uid)
MACHINES: list[str] = []


async def produce(bus: KafkaBus, topic: str, machine: str, i: int, t0: datetime) -> None:
    body = {
        "schema": 1,
        "machine_id": machine,
        "machine_type": "industrial_fan",
        "site": "s1",
        "line": "l2",
        "ts": (t0 + timedelta(seconds=i)).isoformat(),
        "readings": {"speed_rpm": 1000.0 + i, "current_a": 3.0},
        "reported": {"mode": "on"},
    }
    await bus.produce(topic, orjson.dumps(body), key=machine.encode())


async def snapshot(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    twins = [t for t in (await client.get("/api/v1/twins")).json()["items"] if t["id"] in MACHINES]
    keep = (
        "readings",
        "reported",
        "desired",
        "desired_version",
        "attributes",
        "machine_type",
        "site",
        "line",
    )
    return {t["id"]: {k: t[k] for k in keep} for t in twins}


async def test_flushed_redis_is_rebuilt_with_no_loss(
    real_settings: Settings, real_redis: aioredis.Redis, uid: str
) -> None:
    MACHINES[:] = [f"fan-{uid}-{k}" for k in range(12)]
    fan = {k: MACHINES[k] for k in range(12)}
    s = real_settings.model_copy(update={"state_snapshot_interval_s": 0.5, "auto_rebuild": True})
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    bus = KafkaBus(s.kafka_bootstrap or "")
    await bus.start()
    app = create_app(s)
    try:
        async with (
            app.router.lifespan_context(app),
            await as_admin(app, "http://a") as client,
        ):
            for i in range(5):
                for m in MACHINES:
                    await produce(bus, s.topic_telemetry, m, i, t0)
            await bus.flush()

            async def all_in() -> bool:
                twins = [
                    t for t in (await client.get("/api/v1/twins")).json()["items"] if t["id"] in MACHINES
                ]
                return len(twins) == 12 and all(t["readings"].get("speed_rpm") == 1004.0 for t in twins)

            await eventually(all_in, timeout=40, what="12 twins with their last reading")
            await client.put(f"/api/v1/twins/{fan[3]}/attributes", json={"attributes": {"serial": "F3"}})
            r = await client.patch(
                f"/api/v1/twins/{fan[5]}/desired",
                content=b'{"mode": "standby"}',
                headers={"content-type": "application/merge-patch+json"},
            )
            assert r.status_code == 200, r.text
            await asyncio.sleep(1.0)  # a throttled snapshot round after the last changes
            for m in MACHINES[:4]:  # newer readings: only in PostgreSQL, not yet in any snapshot
                await produce(bus, s.topic_telemetry, m, 6, t0)
            await bus.flush()

            async def newest_in() -> bool:
                return (await client.get(f"/api/v1/twins/{fan[0]}")).json()["readings"]["speed_rpm"] == 1006.0

            await eventually(newest_in, timeout=30, what="newest reading applied")
            await asyncio.sleep(0.5)
            before = await snapshot(client)
        # Redis loses everything of this platform
        keys = [k async for k in real_redis.scan_iter(match=f"{s.redis_prefix}:*")]
        assert keys
        await real_redis.delete(*keys)

        restarted = create_app(s)
        async with (
            restarted.router.lifespan_context(restarted),
            await as_admin(restarted, "http://b") as client,
        ):
            after = await snapshot(client)  # right after startup, before any new telemetry
    finally:
        await bus.stop()
    assert set(after) == set(MACHINES)
    assert after == before
    assert after[fan[5]]["desired"] == {"mode": "standby"} and after[fan[5]]["desired_version"] == 1
    assert after[fan[3]]["attributes"] == {"serial": "F3"}
    assert after[fan[0]]["readings"]["speed_rpm"] == 1006.0
